# make test is the whole suite, as CI runs it (.ci/run); see scripts/test.sh for its stages.

.PHONY: test test-unit fuzz test-kafka conformance kafka-start kafka-stop build bench dev

test:
	scripts/test.sh

# Single stages of make test.
test-unit:
	scripts/test.sh vet unit

fuzz:
	scripts/test.sh fuzz

test-kafka:
	scripts/test.sh kafka

conformance:
	scripts/test.sh conformance

# A real Apache Kafka on 127.0.0.1:19092 for running tests by hand:
#   make kafka-start; SEABRIDGE_KAFKA_BROKERS=127.0.0.1:19092 go test ./...; make kafka-stop
kafka-start:
	scripts/kafka.sh start

kafka-stop:
	scripts/kafka.sh stop

build:
	go build -o bin/bridge ./cmd/bridge

bench:
	go test -run '^$$' -bench . ./...

dev:
	go run ./cmd/bridge dev

# make test is the whole suite, as CI runs it (.ci/run); see scripts/test.sh for its stages.

.PHONY: spool-compare test test-unit fuzz test-kafka conformance test-deploy kafka-start kafka-stop build bench microbench dev

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

test-deploy:
	scripts/test.sh deploy

# A real Apache Kafka on 127.0.0.1:19092 for running tests by hand:
#   make kafka-start; SEABRIDGE_KAFKA_BROKERS=127.0.0.1:19092 go test ./...; make kafka-stop
kafka-start:
	scripts/kafka.sh start

kafka-stop:
	scripts/kafka.sh stop

build:
	go build -o bin/bridge ./cmd/bridge

bench:
	go run ./cmd/bridge bench --messages 200000 --size 256
	@export SEABRIDGE_KAFKA_PORT=19192 SEABRIDGE_KAFKA_CONTROLLER_PORT=19193; \
	trap 'scripts/kafka.sh stop' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	if scripts/kafka.sh start; then \
		go run ./cmd/bridge bench --messages 200000 --size 256 --kafka 127.0.0.1:19192; \
	else \
		echo "make bench: Apache Kafka did not start (scripts/kafka.sh); skipping the real-Kafka run"; \
	fi

# The spool's storage against embedded stores (docs/operations.md): a module of its own.
spool-compare:
	cd test/spoolcompare && go run .

# Go micro-benchmarks of the hot-path pieces (validator, frame codec, runner, sinks, mapping).
microbench:
	go test -run '^$$' -bench . -benchmem ./internal/...

dev:
	go run ./cmd/bridge dev

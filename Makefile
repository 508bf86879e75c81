# make test is the whole suite, as CI runs it (.ci/run); see scripts/test.sh for its stages.

.PHONY: spool-compare test test-unit fuzz test-kafka conformance test-deploy test-reliability reliability soak kafka-start kafka-stop build bench microbench dev

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

test-reliability:
	scripts/test.sh reliability

# The fault run (test/reliability): every scenario at full size, then the table of sent,
# delivered, duplicated and lost messages per scenario (also written to
# .cache/reliability/report.md). Apache Kafka is started on SEABRIDGE_KAFKA_PORT (19092).
reliability:
	SEABRIDGE_RELIABILITY_REPORT=$(CURDIR)/.cache/reliability/report.md \
		go test -tags reliability -count=1 -v -timeout 90m -skip '^TestSoak$$' ./test/reliability/

# 30 minutes of both directions under a fault every 3 minutes; RSS and goroutines must stay
# flat (SEABRIDGE_SOAK_DURATION=10m for another length).
soak:
	SEABRIDGE_RELIABILITY_REPORT=$(CURDIR)/.cache/reliability/soak.md \
		go test -tags reliability -count=1 -v -timeout 60m -run '^TestSoak$$' ./test/reliability/

# A real Apache Kafka on 127.0.0.1:19092 for running tests by hand:
#   make kafka-start; SEABRIDGE_KAFKA_BROKERS=127.0.0.1:19092 go test ./...; make kafka-stop
kafka-start:
	scripts/kafka.sh start

kafka-stop:
	scripts/kafka.sh stop

build:
	go build -o bin/bridge ./cmd/bridge

# The benchmark (docs/benchmarks.md): the bridge as its own process beside the raw limits of
# each side, measured in the same run. Against Apache Kafka (scripts/kafka.sh, a broker of its
# own on 127.0.0.1:19192, so it never stops one the tests use): throughput at saturation in 3
# interleaved rounds and latency at fixed loads; then against kfake: latency and the memory
# of idle pipelines. The JSON reports are left in bench-kafka.json and bench-kfake.json.
# BENCH_KAFKA_PORT (and the controller port after it) moves the broker.
BENCH_KAFKA_PORT ?= 19192
bench:
	go build -o bin/bridge ./cmd/bridge
	@export SEABRIDGE_KAFKA_PORT=$(BENCH_KAFKA_PORT) SEABRIDGE_KAFKA_CONTROLLER_PORT=$$(($(BENCH_KAFKA_PORT) + 1)); \
	trap 'scripts/kafka.sh stop' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	status=0; \
	if scripts/kafka.sh start; then \
		bin/bridge bench --kafka 127.0.0.1:$$SEABRIDGE_KAFKA_PORT --scenarios throughput,latency --json-file bench-kafka.json || status=1; \
		scripts/kafka.sh stop; \
	else \
		echo "make bench: Apache Kafka did not start (scripts/kafka.sh); throughput runs against kfake instead"; \
		bin/bridge bench --scenarios throughput --json-file bench-kafka.json || status=1; \
	fi; \
	bin/bridge bench --scenarios latency,memory --json-file bench-kfake.json || status=1; \
	exit $$status

# Go micro-benchmarks of the hot-path pieces (validator, frame codec, runner, sinks, mapping).
microbench:
	go test -run '^$$' -bench . -benchmem ./internal/...

dev:
	go run ./cmd/bridge dev

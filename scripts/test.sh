#!/usr/bin/env bash
# The whole test suite, in stages (make test runs all of them):
#
#   vet          go vet ./...
#   unit         go test -race -count=1 ./...            (Kafka tests use in-process kfake)
#   fuzz         every fuzz target for FUZZTIME executions (150000x)  (scripts/fuzz.sh)
#   kafka        start Apache Kafka (scripts/kafka.sh), run again, with
#                SEABRIDGE_KAFKA_BROKERS set, every package whose tests import
#                internal/testkit/kafkatest; Kafka is stopped whatever happens
#   conformance  the Python client against the emulator (test/conformance/run.sh)
#
#   scripts/test.sh [stage...]     (default: all, in the order above; stops at the first failure)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kafka_port="${SEABRIDGE_KAFKA_PORT:-19092}"
kafkatest_pkg="github.com/seabridge/seabridge/internal/testkit/kafkatest"

banner() { printf '\n==================== %s ====================\n' "$*"; }

stage_vet() { go vet ./...; }

stage_unit() { go test -race -count=1 ./...; }

stage_fuzz() { "$root/scripts/fuzz.sh"; }

# kafkatest_packages lists the packages whose tests import kafkatest, and kafkatest.
kafkatest_packages() {
	go list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
		awk -v kt="$kafkatest_pkg" '$1 == kt { print $1; next } { for (i = 2; i <= NF; i++) if ($i == kt) { print $1; next } }'
}

stage_kafka() {
	local packages status=0
	packages="$(kafkatest_packages)"
	"$root/scripts/kafka.sh" start
	trap '"$root/scripts/kafka.sh" stop' EXIT
	echo "packages using real Kafka: $(echo $packages)"
	# shellcheck disable=SC2086 # one package per word
	SEABRIDGE_KAFKA_BROKERS="127.0.0.1:$kafka_port" go test -count=1 $packages || status=$?
	"$root/scripts/kafka.sh" stop
	trap - EXIT
	return "$status"
}

stage_conformance() { "$root/test/conformance/run.sh"; }

# Turn INT and TERM into an exit, so that the EXIT trap stops Kafka.
trap 'exit 130' INT
trap 'exit 143' TERM

stages=("$@")
((${#stages[@]})) || stages=(vet unit fuzz kafka conformance)
for s in "${stages[@]}"; do
	declare -F "stage_$s" >/dev/null || { echo "unknown stage $s (want vet, unit, fuzz, kafka, conformance)" >&2; exit 2; }
done

summary=()
passed=0
failed=0
started_all=$SECONDS
for s in "${stages[@]}"; do
	banner "$s"
	started=$SECONDS
	status=0
	"stage_$s" || status=$?
	took=$((SECONDS - started))
	if ((status == 0)); then
		passed=$((passed + 1))
		summary+=("$(printf '  %-12s ok    %4ds' "$s" "$took")")
		banner "$s: ok in ${took}s"
	else
		failed=$((failed + 1))
		summary+=("$(printf '  %-12s FAIL  %4ds (exit %d)' "$s" "$took" "$status")")
		banner "$s: FAILED (exit $status) after ${took}s"
		break
	fi
done

printf '\nstage summary (%ds in all):\n' "$((SECONDS - started_all))"
printf '%s\n' "${summary[@]}"
echo "stages: $passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# The whole test suite, in stages (make test runs all of them):
#
#   vet          go vet ./... (and in the module test/kubernetes, and test/reliability's
#                scenarios under their build tag)
#   unit         go test -race -count=1 ./...            (Kafka tests use in-process kfake), and
#                go test in test/kubernetes (the Kubernetes manifests; a module of its own)
#   fuzz         every fuzz target for FUZZTIME executions (150000x)  (scripts/fuzz.sh)
#   kafka        start Apache Kafka (scripts/kafka.sh), run again, with
#                SEABRIDGE_KAFKA_BROKERS set, every package whose tests import
#                internal/testkit/kafkatest; Kafka is stopped whatever happens
#   conformance  the Python client against the emulator (test/conformance/run.sh)
#   deploy       the deploy files checked by the real tools, installed from Debian's packages
#                when missing (prometheus, docker-compose): docker-compose config (Compose
#                v1), and test/prometheus (promtool on the rules and their unit tests, a
#                live Prometheus scraping the bridge)
#   reliability  the short fault run: a subset of test/reliability's scenarios at small
#                counts (make reliability runs them all), and a 3-minute soak
#
#   scripts/test.sh [stage...]     (default: all, in the order above; stops at the first failure)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kafka_port="${SEABRIDGE_KAFKA_PORT:-19092}"
kafkatest_pkg="github.com/seabridge/seabridge/internal/testkit/kafkatest"

banner() { printf '\n==================== %s ====================\n' "$*"; }

# Stages run in a || list, where set -e does not apply: each step returns on failure.
stage_vet() {
	go vet ./... || return
	go vet -tags reliability ./test/reliability/ || return
	(cd test/kubernetes && go vet ./...)
}

# test/prometheus needs Debian's prometheus package: the deploy stage installs it and runs it.
stage_unit() {
	# shellcheck disable=SC2046 # one package per word
	go test -race -count=1 $(go list ./... | grep -v '/test/prometheus$') || return
	# Without -race: it checks files and runs the bridge binary; the race detector would only
	# slow the build of the Kubernetes libraries it decodes into.
	(cd test/kubernetes && go test -count=1 ./...)
}

stage_fuzz() { "$root/scripts/fuzz.sh"; }

# kafkatest_packages lists the packages whose tests import kafkatest, and kafkatest; not
# test/prometheus, which uses kfake only (and needs the deploy stage's tools).
kafkatest_packages() {
	go list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
		awk -v kt="$kafkatest_pkg" '$1 ~ /\/test\/prometheus$/ { next } $1 == kt { print $1; next } { for (i = 2; i <= NF; i++) if ($i == kt) { print $1; next } }'
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

# debian_packages installs the Debian packages whose commands are missing (command:package
# pairs); it fails naming what to install when it cannot.
debian_packages() {
	local pair missing=() log
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
	done
	((${#missing[@]})) || return 0
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "installing Debian packages: ${missing[*]}"
	log="$(mktemp)"
	if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -f "$log"
		echo "cannot install ${missing[*]}: install Debian's packages ${missing[*]} (apt-get install ${missing[*]}), then run scripts/test.sh deploy again" >&2
		return 1
	fi
	rm -f "$log"
}

stage_deploy() {
	debian_packages prometheus:prometheus promtool:prometheus docker-compose:docker-compose || return
	echo "docker-compose config ($(docker-compose version --short))"
	docker-compose --project-directory "$root" -f "$root/docker-compose.yml" config -q || return
	go test -count=1 ./test/prometheus/
}

# The scenarios of the short fault run: those that pass today on kfake and finish in about
# half a minute each, and the 3-minute soak, four at a time (each has servers and a bridge
# of its own); make reliability runs every scenario, one at a time.
# The spool's scenarios (TestSpool*, about 4 minutes on Apache Kafka) run at their full size:
# they are the spool's proof (100,000 messages through a 60 s Kafka outage among them).
reliability_short='^(TestStreamseaDown10s|TestStreamsea500|TestStreamsea429RetryAfter|TestBridgeKilled|TestTwoInstancesOneKilled|TestSigtermBudgetTooShortKafkaToStreamsea|TestHostileRecords.*|TestWebsocketReset|TestEmulatorRestart|TestMapping.*|TestSpool.*|TestSoak)$'

stage_reliability() {
	SEABRIDGE_KAFKA_PORT="$kafka_port" go test -tags reliability -count=1 -short -parallel 4 -v -timeout 30m \
		-run "$reliability_short" ./test/reliability/
}

# Turn INT and TERM into an exit, so that the EXIT trap stops Kafka.
trap 'exit 130' INT
trap 'exit 143' TERM

stages=("$@")
((${#stages[@]})) || stages=(vet unit fuzz kafka conformance deploy reliability)
for s in "${stages[@]}"; do
	declare -F "stage_$s" >/dev/null || { echo "unknown stage $s (want vet, unit, fuzz, kafka, conformance, deploy, reliability)" >&2; exit 2; }
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

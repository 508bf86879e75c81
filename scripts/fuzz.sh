#!/usr/bin/env bash
# Runs every fuzz target of the module briefly: each FuzzXxx found by
# `go test -list '^Fuzz'` in each package, for FUZZTIME executions (default 150000x).
#
# The budget is a count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" failure when -fuzztime expires while a worker
# is mid-call on a loaded machine (golang/go#75804, fixed in Go 1.27). A count has no deadline
# to race. A real finding still fails the run and writes its input under testdata/fuzz/.
#
#   scripts/fuzz.sh [packages...]      (default ./...)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzztime="${FUZZTIME:-150000x}"
packages=("$@")
((${#packages[@]})) || packages=(./...)

count=0
for pkg in $(go list "${packages[@]}"); do
	targets="$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)"
	for target in $targets; do
		printf 'fuzz: %s %s, -fuzztime %s\n' "$pkg" "$target" "$fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
		count=$((count + 1))
	done
done
printf 'fuzz: %d target(s) fuzzed\n' "$count"

#!/usr/bin/env bash
# Runs every fuzz target of the module briefly: each FuzzXxx found by
# `go test -list '^Fuzz'` in each package, for FUZZTIME (default 10s).
#
#   scripts/fuzz.sh [packages...]      (default ./...)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzztime="${FUZZTIME:-10s}"
packages=("$@")
((${#packages[@]})) || packages=(./...)

count=0
for pkg in $(go list "${packages[@]}"); do
	targets="$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)"
	for target in $targets; do
		printf 'fuzz: %s %s for %s\n' "$pkg" "$target" "$fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
		count=$((count + 1))
	done
done
printf 'fuzz: %d target(s) fuzzed\n' "$count"

#!/usr/bin/env bash
# fuzz.sh DURATION: run every fuzz target of the tree for DURATION each (go test -fuzztime).
# The targets are found, not listed: `go test -list '^Fuzz'` over every package, so a new
# FuzzXxx joins by itself. A failure stops at once, with the input go test saved under
# the package's testdata/fuzz/FuzzXxx/ (commit it: it becomes a seed).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: fuzz.sh DURATION (a go test -fuzztime value: 15s, 5m)"
duration="$1"
cd "$REPO_ROOT"

# One go test -list for the whole tree (its packages build side by side): each package's
# FuzzXxx names come before its "ok" line.
targets=$(go test -list '^Fuzz' ./... |
	awk '/^Fuzz/ { names = names " " $1; next } /^ok/ { if (names != "") print $2 names; names = "" }')
[[ -n $targets ]] || die "no fuzz target found"

count=0
while read -r pkg names; do
	for target in $names; do
		log "fuzz $pkg $target for $duration"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$duration" "$pkg"
		count=$((count + 1))
	done
done <<<"$targets"
log "fuzzed $count targets for $duration each"

#!/usr/bin/env bash
# fuzz.sh BUDGET: run every fuzz target of the tree for BUDGET each (a go test -fuzztime
# value: 5m, or 20000x for a count of inputs).
# The targets are found, not listed: `go test -list '^Fuzz'` over every package, so a new
# FuzzXxx joins by itself. A failure stops at once, with the input go test saved under
# the package's testdata/fuzz/FuzzXxx/ (commit it: it becomes a seed).
#
# Two limits of go1.26's fuzzing engine shape the budgets:
#   - a new interesting input is minimized for up to a minute by default, and the
#     coordinator counts no run meanwhile: -fuzzminimizetime caps that at 3 s;
#   - a duration budget races its own deadline: a worker still busy when it passes makes
#     the target fail with "context deadline exceeded" and no failing input
#     (go.dev/issue/75804, fixed in go1.27). make test's short run therefore uses a count,
#     which has no deadline to race.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: fuzz.sh BUDGET (a go test -fuzztime value: 5m, 20000x)"
budget="$1"
cd "$REPO_ROOT"

# One go test -list for the whole tree (its packages build side by side): each package's
# FuzzXxx names come before its "ok" line.
targets=$(go test -list '^Fuzz' ./... |
	awk '/^Fuzz/ { names = names " " $1; next } /^ok/ { if (names != "") print $2 names; names = "" }')
[[ -n $targets ]] || die "no fuzz target found"

count=0
while read -r pkg names; do
	for target in $names; do
		log "fuzz $pkg $target for $budget"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" -fuzzminimizetime 3s "$pkg"
		count=$((count + 1))
	done
done <<<"$targets"
log "fuzzed $count targets for $budget each"

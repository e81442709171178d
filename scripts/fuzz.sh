#!/usr/bin/env bash
# fuzz.sh DURATION: run every fuzz target of the tree for DURATION each (go test -fuzztime).
# The targets are found, not listed: `go test -list '^Fuzz'` in each package with tests, so a
# new FuzzXxx joins by itself. A failure stops at once, with the input go test saved under
# the package's testdata/fuzz/FuzzXxx/ (commit it: it becomes a seed).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: fuzz.sh DURATION (a go test -fuzztime value: 15s, 5m)"
duration="$1"
cd "$REPO_ROOT"

count=0
while read -r pkg; do
	while read -r target; do
		log "fuzz $pkg $target for $duration"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$duration" "$pkg"
		count=$((count + 1))
	done < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)
((count > 0)) || die "no fuzz target found"
log "fuzzed $count targets for $duration each"

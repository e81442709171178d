package testutil

import (
	"os"
	"testing"
)

// StrictEnv, set to 1 by `make test`, turns a missing prerequisite (a tool, the engine, an
// image) into a failure: `make test` installs them first, so a skip there would hide a gap.
const StrictEnv = "WPDIND_STRICT"

// Strict reports whether missing prerequisites fail instead of skipping.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

// SkipOrFail skips tb for want of a prerequisite, or fails it under `make test`. how says
// what provides the prerequisite ("make tools").
func SkipOrFail(tb testing.TB, why, how string) {
	tb.Helper()
	if Strict() {
		tb.Fatalf("%s (%s provides it)", why, how)
	}
	tb.Skipf("%s (%s provides it)", why, how)
}

package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// HelperEnv selects the part a test binary plays when it runs as a helper process.
const HelperEnv = "WPDIND_TEST_HELPER"

// Main is a package's TestMain: with HelperEnv set, the binary plays that helper (which
// must exit by itself); otherwise it runs the tests. An unknown helper exits 3 with a
// message, so a typo shows instead of running the tests again inside a test.
//
// The helpers of a -race test binary would each sleep a second at exit (the race
// runtime's atexit_sleep_ms) and slow every stop a test waits for, so unless GORACE is set,
// Main sets it for the processes the tests start.
func Main(m *testing.M, helpers map[string]func()) {
	mode := os.Getenv(HelperEnv)
	if mode == "" {
		if _, set := os.LookupEnv("GORACE"); !set {
			_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
		}
		os.Exit(m.Run())
	}
	fn, ok := helpers[mode]
	if !ok {
		names := make([]string, 0, len(helpers))
		for n := range helpers {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "testutil: unknown helper %q (have %s)\n", mode, strings.Join(names, ", "))
		os.Exit(3)
	}
	fn()
	os.Exit(0)
}

// Helper returns the environment entry that makes the test binary play mode, for a config
// file or an exec.Cmd's Env.
func Helper(mode string) string { return HelperEnv + "=" + mode }

// HelperCommand is the test binary as the helper mode, with env added to the test's own.
func HelperCommand(tb testing.TB, mode string, env ...string) *exec.Cmd {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("find the test binary: %v", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), Helper(mode)), env...)
	return cmd
}

package sysinit

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

// childEnv names the test a re-executed test binary must run inside its own mount namespace.
const childEnv = "WPDIND_SYSINIT_MOUNTNS_TEST"

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "needs root (mounts, cgroups)", "running the tests as root")
	}
}

// inMountNS reports true when the test runs inside a private mount namespace. Otherwise it
// runs this same test again in a child test binary started in a new mount namespace (Go makes
// / rprivate there, so nothing the child mounts reaches the host), relays its output and
// returns false: the caller then returns. Top-level tests only (the name is a -test.run regexp).
func inMountNS(t *testing.T) bool {
	t.Helper()
	requireRoot(t)
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$",
		"-test.count=1", "-test.v", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child test in a private mount namespace:\n%s", out)
	if err != nil {
		t.Fatalf("child test: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child test did not report a pass for %s", t.Name())
	}
	return false
}

// mountTmpfs mounts a fresh tmpfs on a temp dir and detaches it (and all below) at cleanup,
// registered after TempDir's so it runs before the dir is removed.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "sysinit", Output: tWriter{t}, Level: hclog.Debug})
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testRun is the tests' Runner: no reaper runs in the test binary, so os/exec may wait.
func testRun(ctx context.Context, name string, args ...string) error {
	return exec.CommandContext(ctx, name, args...).Run()
}

// prepare runs Prepare (with testRun unless opts has a Runner) and returns the report's only configured step (the others say
// "not configured").
func prepare(t *testing.T, opts Options) (Step, Report, error) {
	t.Helper()
	if opts.Run == nil {
		opts.Run = testRun
	}
	r, err := Prepare(context.Background(), testLogger(t), opts)
	var got []Step
	for _, s := range r.Steps {
		if s.Detail != notConfigured {
			got = append(got, s)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one configured step, got %+v", r.Steps)
	}
	return got[0], r, err
}

func mountTable(t *testing.T) []mount {
	t.Helper()
	m, err := readMountInfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

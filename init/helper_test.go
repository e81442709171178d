package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary play the services (testutil.Services); the configs name
// the mode in their env tables (WPDIND_TEST_HELPER = "serve").
func TestMain(m *testing.M) { testutil.Main(m, testutil.Services) }

// pid1Wait bounds every wait on wpinit under test.
const pid1Wait = 20 * time.Second

// wpinitBin is the binary under test; `make pid1` builds it and sets WPINIT_BIN.
func wpinitBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("WPINIT_BIN")
	if bin == "" {
		testutil.SkipOrFail(t, "WPINIT_BIN not set", "make pid1")
	}
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "PID-1 tests need root for a PID namespace", "running them as root")
	}
	return bin
}

// instance is one wpinit under test, as PID 1 of a new PID namespace or as a plain child.
type instance struct {
	t       *testing.T
	dir     string
	cfgPath string
	socket  string
	client  *ctl.Client
	cmd     *exec.Cmd
	hostPid int // wpinit's pid as seen from the test
	stderr  *testutil.SyncBuffer
	done    chan struct{}
	code    int
}

// writeConfig writes wpinit.toml into dir; @EXE@ stands for the test binary, @DIR@ for dir.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wpinit.toml")
	body = strings.NewReplacer("@EXE@", exe, "@DIR@", dir).Replace(body)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startWpinit runs wpinit on body; asPID1 puts it in a new PID namespace.
func startWpinit(t *testing.T, body string, asPID1 bool) *instance {
	t.Helper()
	return startWpinitIn(t, t.TempDir(), body, asPID1)
}

// startWpinitIn is startWpinit in dir, where the test put other files wpinit reads.
func startWpinitIn(t *testing.T, dir, body string, asPID1 bool) *instance {
	t.Helper()
	bin := wpinitBin(t)
	in := &instance{t: t, dir: dir, cfgPath: writeConfig(t, dir, body), socket: filepath.Join(dir, "ctl.sock"),
		stderr: &testutil.SyncBuffer{}, done: make(chan struct{})}
	in.client = ctl.NewClient(in.socket)
	args := []string{bin, "--config", in.cfgPath, "--socket", in.socket}
	if asPID1 {
		args = append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, args...)
	}
	in.cmd = exec.Command(args[0], args[1:]...)
	in.cmd.Stderr = in.stderr
	in.cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = in.cmd.Wait()
		in.code = in.cmd.ProcessState.ExitCode()
		close(in.done)
	}()
	t.Cleanup(in.kill)
	in.hostPid = in.cmd.Process.Pid
	if asPID1 {
		testutil.WaitFor(t, pid1Wait, "wpinit forked by unshare", func() bool {
			kids := childrenOf(in.cmd.Process.Pid)
			if len(kids) == 1 {
				in.hostPid = kids[0]
			}
			return len(kids) == 1 || isDone(in.done) // a wpinit that exits at once
		})
	}
	return in
}

// kill ends wpinit and everything in its namespace (PID 1 dying takes them all).
func (in *instance) kill() {
	_ = unix.Kill(in.hostPid, unix.SIGKILL)
	_ = unix.Kill(-in.cmd.Process.Pid, unix.SIGKILL)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		in.t.Error("wpinit did not end within 10s of SIGKILL")
	}
	if in.t.Failed() {
		in.t.Logf("wpinit stderr:\n%s", in.stderr.String())
	}
}

// status polls until wpinit answers, then returns its status.
func (in *instance) status() *ctl.Status {
	in.t.Helper()
	var st *ctl.Status
	testutil.WaitFor(in.t, pid1Wait, "wpinit answering", func() bool {
		var err error
		st, err = in.client.Status(context.Background())
		return err == nil
	})
	return st
}

func (in *instance) service(name string) ctl.ServiceStatus {
	in.t.Helper()
	for _, s := range in.status().Services {
		if s.Name == name {
			return s
		}
	}
	in.t.Fatalf("no service %q", name)
	return ctl.ServiceStatus{}
}

// waitService polls until cond holds for the named service and returns its status.
func (in *instance) waitService(name, what string, cond func(ctl.ServiceStatus) bool) ctl.ServiceStatus {
	in.t.Helper()
	var s ctl.ServiceStatus
	testutil.WaitFor(in.t, pid1Wait, name+" "+what, func() bool {
		s = in.service(name)
		return cond(s)
	})
	return s
}

// wait returns wpinit's exit code and how long it took, failing after d.
func (in *instance) wait(d time.Duration) int {
	in.t.Helper()
	select {
	case <-in.done:
		return in.code
	case <-time.After(d):
		in.t.Fatalf("wpinit still running after %s", d)
		return -1
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

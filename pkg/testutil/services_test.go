package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startServe starts the serve helper with env and returns it, its stdout and its events file.
func startServe(t *testing.T, env ...string) (*exec.Cmd, *bufio.Reader, string) {
	t.Helper()
	events := filepath.Join(t.TempDir(), "events")
	cmd := HelperCommand(t, "serve", append([]string{"EVENTS=" + events}, env...)...)
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out), events
}

// TestServe: greeting, records, a slow stop on TERM and the exit code 0.
func TestServe(t *testing.T) {
	cmd, out, events := startServe(t, "NAME=svc", "STOP_DELAY=200ms")
	if line, err := out.ReadString('\n'); line != "hello from svc\n" {
		t.Fatalf("greeting %q, %v", line, err)
	}
	WaitEvent(t, 5*time.Second, events, "ready svc")
	start := time.Now()
	if err := cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after TERM: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("stopped %s after TERM, before STOP_DELAY", d)
	}
	if got := Events(t, events); got != "start svc\nready svc\nstop svc\n" {
		t.Errorf("events %q", got)
	}
}

// TestServeIgnoreTerm: the leader and the child it leaves in its group both ignore TERM
// (their SigIgn masks say so), and KILL to the group ends both.
func TestServeIgnoreTerm(t *testing.T) {
	cmd, out, events := startServe(t, "NAME=stuck", "IGNORE_TERM=1", "LEAVE_CHILD=1")
	if line, _ := out.ReadString('\n'); line != "hello from stuck\n" {
		t.Fatalf("greeting %q", line)
	}
	WaitEvent(t, 5*time.Second, events, "ready stuck-child")
	pgrp := cmd.Process.Pid
	members := groupMembers(t, pgrp)
	if len(members) != 2 {
		t.Fatalf("process group %d holds %v, want the leader and its child", pgrp, members)
	}
	for _, pid := range members {
		if !ignoresTerm(t, pid) {
			t.Errorf("pid %d does not ignore TERM", pid)
		}
	}
	if err := unix.Kill(-pgrp, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The orphaned child's zombie is the machine's init's to reap: gone means not alive.
	WaitFor(t, 5*time.Second, "the group gone", func() bool { return len(groupMembers(t, pgrp)) == 0 })
}

// groupMembers lists the live processes of process group pgrp.
func groupMembers(t *testing.T, pgrp int) []int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgrp) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
			out = append(out, pid)
		}
	}
	return out
}

// ignoresTerm reads SigIgn of /proc/PID/status.
func ignoresTerm(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(rest), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return mask&(1<<(unix.SIGTERM-1)) != 0
		}
	}
	t.Fatalf("no SigIgn for pid %d", pid)
	return false
}

func TestExitCode(t *testing.T) {
	err := HelperCommand(t, "exit", "EXIT_CODE=7").Run()
	var exit *exec.ExitError
	if !asExit(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("exit helper: %v, want exit 7", err)
	}
}

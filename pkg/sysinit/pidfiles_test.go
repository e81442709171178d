package sysinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// startProcess runs program (a copy of sleep when renamed) and kills it at cleanup.
func startProcess(t *testing.T, program string) int {
	t.Helper()
	cmd := exec.Command(program, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// zombieProcess starts program and kills it without reaping it: a zombie until cleanup.
func zombieProcess(t *testing.T, program string) int {
	t.Helper()
	cmd := exec.Command(program, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Wait() })
	pid := cmd.Process.Pid
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, time.Second, fmt.Sprintf("pid %d a zombie", pid), func() bool {
		_, state, err := procState("/proc", pid)
		return err == nil && state == "Z"
	})
	return pid
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Skipf("pid %d was reused at once", pid)
	}
	return pid
}

// fakeDockerd copies sleep under the name dockerd, so a real process has comm "dockerd".
func fakeDockerd(t *testing.T) string {
	t.Helper()
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dockerd")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestStalePidFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := write("docker.pid", strconv.Itoa(startProcess(t, "sleep"))+"\n")
	dead := write("containerd.pid", strconv.Itoa(deadPid(t)))
	garbage := write("garbage.pid", "not a pid")
	live := write("live-docker.pid", strconv.Itoa(startProcess(t, fakeDockerd(t))))
	zombie := write("zombie-docker.pid", strconv.Itoa(zombieProcess(t, fakeDockerd(t))))
	missing := filepath.Join(dir, "missing.pid")
	opts := Options{PidFiles: []PidFile{
		{Path: other, Program: "dockerd"},
		{Path: dead, Program: "containerd"},
		{Path: garbage, Program: "dockerd"},
		{Path: live, Program: "dockerd"},
		{Path: zombie, Program: "dockerd"},
		{Path: missing, Program: "containerd"},
	}}

	step, _, err := prepare(t, opts)
	if err != nil || step.Outcome != Done {
		t.Fatalf("first run: %+v, %v", step, err)
	}
	t.Logf("detail: %s", step.Detail)
	for _, p := range []string{other, dead, garbage, zombie} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale %s not removed (%v)", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live dockerd's pid file must stay: %v", err)
	}
	for _, want := range []string{"is sleep, not dockerd", "is dead", "unreadable pid", "is a live dockerd", "is a dead dockerd (state Z)"} {
		if !strings.Contains(step.Detail, want) {
			t.Errorf("detail lacks %q: %s", want, step.Detail)
		}
	}

	step, _, err = prepare(t, opts)
	if err != nil || step.Outcome != Skipped {
		t.Fatalf("second run should skip: %+v, %v", step, err)
	}
}

func TestCommNameTruncated(t *testing.T) {
	if got := commName("a-very-long-program-name"); got != "a-very-long-pro" {
		t.Errorf("commName = %q, want the 15-byte prefix", got)
	}
}

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

func TestKilledServiceRestarts(t *testing.T) {
	svc := helperService(t, "web", "serve", nil)
	svc.StartSecs = config.Duration(200 * time.Millisecond)
	f := startSupervisor(t, wpinitConfig(t, t.TempDir(), svc))
	first := f.waitStatus(t, "web", "running", func(s Status) bool { return s.State == Running })
	if up := time.Since(first.Started); up < 200*time.Millisecond {
		t.Errorf("RUNNING after %s, before start_secs", up)
	}
	if err := unix.Kill(first.Pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := f.waitStatus(t, "web", "restarted", func(s Status) bool { return s.State == Running && s.Pid != first.Pid })
	if st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != unix.SIGKILL {
		t.Errorf("after SIGKILL: restarts %d, last exit %v; want 1 and signal 9", st.Restarts, st.LastExit)
	}
}

// TestDependencyOrder: b waits for a's READY=1 on its notify socket, c for b's TCP port;
// the stop goes c, b, a.
func TestDependencyOrder(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	port := "127.0.0.1:" + strconv.Itoa(testutil.FreePorts(t, 1)[0])
	a := helperService(t, "a", "serve", map[string]string{"EVENTS": events})
	a.Ready.Notify = true
	b := helperService(t, "b", "serve", map[string]string{"EVENTS": events, "LISTEN_TCP": port})
	b.Ready.TCP = port
	b.DependsOn = []string{"a"}
	c := helperService(t, "c", "serve", map[string]string{"EVENTS": events})
	c.DependsOn = []string{"b"}
	f := startSupervisor(t, wpinitConfig(t, dir, a, b, c))
	select {
	case <-f.sup.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready within 10s")
	}
	testutil.WaitEvent(t, 10*time.Second, events, "ready c")
	if got := testutil.Events(t, events); got != "start a\nready a\nstart b\nready b\nstart c\nready c\n" {
		t.Fatalf("start events:\n%s", got)
	}
	f.cancel()
	if err := <-f.done; err != nil {
		t.Fatal(err)
	}
	f.done <- nil // for the cleanup
	if got := testutil.Events(t, events); !strings.HasSuffix(got, "stop c\nstop b\nstop a\n") {
		t.Errorf("stop events:\n%s", got)
	}
}

func TestStopTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	svc := helperService(t, "stuck", "serve", map[string]string{"IGNORE_TERM": "1", "LEAVE_CHILD": "1", "EVENTS": events})
	svc.StopTimeout = config.Duration(300 * time.Millisecond)
	f := startSupervisor(t, wpinitConfig(t, dir, svc))
	st := f.waitStatus(t, "stuck", "running", func(s Status) bool { return s.State == Running })
	testutil.WaitEvent(t, 10*time.Second, events, "start stuck-child")
	start := time.Now()
	if err := f.sup.Stop(context.Background(), "stuck"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("stopped after %s, before stop_timeout", d)
	}
	if got := f.status(t, "stuck"); got.State != Stopped || got.LastExit.Signal != unix.SIGKILL {
		t.Errorf("state %s, last exit %v; want STOPPED after SIGKILL", got.State, got.LastExit)
	}
	waitGone(t, -st.Pid) // the whole group, grandchild included
}

// TestLeaderDeathKillsLeftovers: when the leader dies by itself (SIGKILL from outside), the
// rest of its process group (a grandchild that ignores TERM, like php-fpm's workers holding
// the listening socket) is killed before the service starts again.
func TestLeaderDeathKillsLeftovers(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	svc := helperService(t, "leaky", "serve", map[string]string{"IGNORE_TERM": "1", "LEAVE_CHILD": "1", "EVENTS": events})
	f := startSupervisor(t, wpinitConfig(t, dir, svc))
	first := f.waitStatus(t, "leaky", "running", func(s Status) bool { return s.State == Running })
	testutil.WaitEvent(t, 10*time.Second, events, "start leaky-child")
	if err := unix.Kill(first.Pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, -first.Pid) // the grandchild too, not only the leader
	st := f.waitStatus(t, "leaky", "restarted", func(s Status) bool { return s.State == Running && s.Pid != first.Pid })
	if st.Restarts != 1 {
		t.Errorf("restarts %d, want 1", st.Restarts)
	}
}

// waitGone waits until pid (a process group when negative) is gone.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, fmt.Sprintf("pid %d gone", pid), func() bool { return unix.Kill(pid, 0) != nil })
}

func TestCriticalFatalEndsRun(t *testing.T) {
	svc := helperService(t, "crash", "exit", map[string]string{"EXIT_CODE": "1"})
	svc.StartSecs = config.Duration(time.Second)
	svc.StartRetries = 2
	svc.Critical = true
	f := startSupervisor(t, wpinitConfig(t, t.TempDir(), svc))
	var err error
	select {
	case err = <-f.done:
		f.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end within 10s")
	}
	var ce *CriticalError
	if !errors.As(err, &ce) || ce.Service != "crash" {
		t.Fatalf("Run = %v, want a CriticalError for crash", err)
	}
	if st := f.status(t, "crash"); st.Restarts != 2 || !st.LastExit.Exited(1) {
		t.Errorf("restarts %d, last exit %v; want 2 retries after exit 1", st.Restarts, st.LastExit)
	}
}

func TestReadinessChecks(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	sock := filepath.Join(dir, "ready.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name  string
		ready config.Ready
		ok    bool
	}{
		{"http", config.Ready{HTTP: srv.URL}, true},
		{"unix", config.Ready{Unix: sock}, true},
		{"command", config.Ready{Command: []string{"/bin/sh", "-c", "exit 0"}}, true},
		{"command failing", config.Ready{Command: []string{"/bin/sh", "-c", "exit 1"}}, false},
		{"notify never sent", config.Ready{Notify: true}, false},
	}
	var services []*config.Service
	for i, tt := range tests {
		svc := helperService(t, "svc"+string(rune('a'+i)), "serve", map[string]string{"NO_READY": "1"})
		svc.Ready.Notify, svc.Ready.HTTP, svc.Ready.Unix, svc.Ready.Command = tt.ready.Notify, tt.ready.HTTP, tt.ready.Unix, tt.ready.Command
		if len(tt.ready.Command) > 0 {
			svc.ReadyPath = tt.ready.Command[0]
		}
		svc.Ready.Timeout = config.Duration(500 * time.Millisecond)
		svc.StartRetries = 0
		services = append(services, svc)
	}
	f := startSupervisor(t, wpinitConfig(t, dir, services...))
	for i, tt := range tests {
		name := services[i].Name
		want := map[bool]State{true: Running, false: Fatal}[tt.ok]
		st := f.waitStatus(t, name, string(want), func(s Status) bool { return s.State == Running || s.State == Fatal })
		if st.State != want {
			t.Errorf("%s: state %s, want %s (%s)", tt.name, st.State, want, st.Error)
		}
	}
}

func TestOutputKept(t *testing.T) {
	dir := t.TempDir()
	f := startSupervisor(t, wpinitConfig(t, dir, helperService(t, "talk", "serve", map[string]string{"HELLO_STDERR": "1"})))
	f.waitStatus(t, "talk", "running", func(s Status) bool { return s.State == Running })
	var lines []Line
	if testutil.Poll(5*time.Second, func() bool {
		var err error
		lines, err = f.sup.Logs("talk", -1)
		return err == nil && len(lines) == 2
	}) != nil {
		t.Fatalf("ring holds %v", lines)
	}
	data, err := os.ReadFile(filepath.Join(dir, "log", "talk.log"))
	if err != nil || !strings.Contains(string(data), " stdout hello from talk\n") || !strings.Contains(string(data), " stderr hello from talk\n") {
		t.Errorf("log file: %q, %v", data, err)
	}
	if _, err := f.sup.Logs("nope", 1); !errors.Is(err, ErrUnknownService) {
		t.Errorf("Logs(nope) = %v, want ErrUnknownService", err)
	}
}

// TestApply: a reload keeps unchanged services, restarts changed ones, stops removed ones
// and starts added ones.
func TestApply(t *testing.T) {
	dir := t.TempDir()
	keep, change, drop := helperService(t, "keep", "serve", nil), helperService(t, "change", "serve", nil), helperService(t, "drop", "serve", nil)
	f := startSupervisor(t, wpinitConfig(t, dir, keep, change, drop))
	pids := map[string]int{}
	for _, n := range []string{"keep", "change", "drop"} {
		pids[n] = f.waitStatus(t, n, "running", func(s Status) bool { return s.State == Running }).Pid
	}
	changed := helperService(t, "change", "serve", map[string]string{"EXTRA": "1"})
	next := wpinitConfig(t, dir, helperService(t, "keep", "serve", nil), changed, helperService(t, "add", "serve", nil))
	if err := f.sup.Apply(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if st := f.status(t, "keep"); st.Pid != pids["keep"] {
		t.Errorf("keep was restarted: pid %d -> %d", pids["keep"], st.Pid)
	}
	f.waitStatus(t, "change", "restarted", func(s Status) bool { return s.State == Running && s.Pid != pids["change"] })
	f.waitStatus(t, "add", "running", func(s Status) bool { return s.State == Running })
	if _, err := f.sup.Logs("drop", 1); !errors.Is(err, ErrUnknownService) {
		t.Errorf("drop still known: %v", err)
	}
	waitGone(t, pids["drop"])
}

// TestNothingStartsOnceStopping: while Run stops the services (slow takes its time, and
// base, which slow depends on, waits for it), a reload that adds a service and changes
// another, a start and a restart are refused with ErrStopping at once, base killed meanwhile
// is not restarted, and the services' records show no start after the stop began.
func TestNothingStartsOnceStopping(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	env := map[string]string{"EVENTS": events}
	slowService := func() *config.Service {
		s := helperService(t, "slow", "serve", map[string]string{"EVENTS": events, "STOP_DELAY": "2s"})
		s.DependsOn = []string{"base"}
		return s
	}
	f := startSupervisor(t, wpinitConfig(t, dir, helperService(t, "base", "serve", env), slowService(), helperService(t, "web", "serve", env)))
	for _, n := range []string{"base", "slow", "web"} {
		f.waitStatus(t, n, "running", func(s Status) bool { return s.State == Running })
		testutil.WaitEvent(t, 10*time.Second, events, "ready "+n) // its TERM handler is in place
	}
	before := testutil.Events(t, events)
	f.cancel()
	f.waitStatus(t, "slow", "stopping", func(s Status) bool { return s.State == Stopping })
	changed := helperService(t, "web", "serve", map[string]string{"EVENTS": events, "EXTRA": "1"})
	next := wpinitConfig(t, dir, helperService(t, "base", "serve", env), slowService(), changed, helperService(t, "added", "serve", env))
	if err := f.sup.Apply(context.Background(), next); !errors.Is(err, ErrStopping) {
		t.Errorf("Apply while stopping: %v, want ErrStopping", err)
	}
	for name, op := range map[string]func(context.Context, string) error{"start": f.sup.Start, "restart": f.sup.Restart} {
		if err := op(context.Background(), "web"); !errors.Is(err, ErrStopping) {
			t.Errorf("%s while stopping: %v, want ErrStopping", name, err)
		}
	}
	if err := unix.Kill(f.status(t, "base").Pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	f.waitStatus(t, "base", "left stopped", func(s Status) bool { return s.Error == "not started: stopping" })
	if st := f.status(t, "slow"); st.State != Stopping {
		t.Errorf("the refusals came after the stop: slow is %s", st.State)
	}
	if err := <-f.done; err != nil {
		t.Fatal(err)
	}
	f.done <- nil // for the cleanup
	after := strings.TrimPrefix(testutil.Events(t, events), before)
	if strings.Contains(after, "start ") || !strings.Contains(after, "stop slow\n") {
		t.Errorf("records after the stop began:\n%s", after)
	}
	if _, ok := f.find("added"); ok {
		t.Error("the refused reload added a service")
	}
}

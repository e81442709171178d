package reaper

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary play the child processes (testutil.Services).
func TestMain(m *testing.M) { testutil.Main(m, testutil.Services) }

// startReaper runs a Reaper fed by SIGCHLD until the test ends. stop ends Run and returns
// its error; it may be called more than once.
func startReaper(t *testing.T, opts Options) (r *Reaper, stop func() error) {
	t.Helper()
	r = New(hclog.NewNullLogger(), opts)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { // like wpinit's signal switch, it kicks until Run has returned
		for {
			select {
			case <-sigs:
				r.Kick()
			case <-done:
				return
			}
		}
	}()
	go func() { runErr = r.Run(ctx); close(done) }()
	stop = func() error { cancel(); <-done; return runErr }
	t.Cleanup(func() { signal.Stop(sigs); _ = stop() })
	return r, stop
}

func waitExit(t *testing.T, ch <-chan ExitStatus) ExitStatus {
	t.Helper()
	select {
	case st := <-ch:
		return st
	case <-time.After(10 * time.Second):
		t.Fatal("no exit status within 10s")
		return ExitStatus{}
	}
}

func TestExitStatus(t *testing.T) {
	r, _ := startReaper(t, Options{})
	tests := []struct {
		name   string
		script string
		want   string
	}{
		{"success", "exit 0", "exit 0"},
		{"code", "exit 3", "exit 3"},
		{"killed", "kill -KILL $$", "signal 9 (SIGKILL)"},
		{"terminated", "kill -TERM $$", "signal 15 (SIGTERM)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, ch, err := r.Start(exec.Command("/bin/sh", "-c", tt.script))
			if err != nil {
				t.Fatal(err)
			}
			st := waitExit(t, ch)
			if st.String() != tt.want || st.Pid != pid {
				t.Errorf("status = %s of pid %d, want %s of pid %d", st, st.Pid, tt.want, pid)
			}
		})
	}
}

// TestImmediateExitsKeepStatus starts children that exit at once, so that most are reaped
// while Start still holds the lock: none may lose its status to the orphan count.
func TestImmediateExitsKeepStatus(t *testing.T) {
	r, _ := startReaper(t, Options{})
	const n = 200
	chans := make([]<-chan ExitStatus, n)
	for i := range chans {
		_, ch, err := r.Start(exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(i%7)))
		if err != nil {
			t.Fatal(err)
		}
		chans[i] = ch
	}
	for i, ch := range chans {
		if st := waitExit(t, ch); !st.Exited(i % 7) {
			t.Errorf("child %d: status %s, want exit %d", i, st, i%7)
		}
	}
	if o := r.Orphans(); o != 0 {
		t.Errorf("%d registered children counted as orphans", o)
	}
}

func TestStreamsMustBeFiles(t *testing.T) {
	r := New(hclog.NewNullLogger(), Options{})
	cmd := exec.Command("/bin/true")
	cmd.Stdout = &struct{ bufio.Writer }{}
	if _, _, err := r.Start(cmd); err == nil {
		t.Fatal("Start accepted a non-file stdout")
	}
}

// TestOrphansReaped: a child leaves 50 background grandchildren behind; as subreaper the
// test process inherits and reaps them all, and the child's own status is still delivered.
func TestOrphansReaped(t *testing.T) {
	r, _ := startReaper(t, Options{})
	_, ch, err := r.Start(exec.Command("/bin/sh", "-c", "for i in $(seq 50); do sleep 0.2 & done; exit 5"))
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, ch); !st.Exited(5) {
		t.Fatalf("status %s, want exit 5", st)
	}
	testutil.WaitFor(t, 10*time.Second, "50 orphans reaped", func() bool { return r.Orphans() >= 50 })
}

// TestSweep: at the end of Run a child that ignores TERM is killed and reaped.
func TestSweep(t *testing.T) {
	r, stop := startReaper(t, Options{Sweep: true, SweepGrace: 300 * time.Millisecond})
	// It ignores TERM by the time it greets.
	cmd := testutil.HelperCommand(t, "serve", "NAME=stubborn", "IGNORE_TERM=1")
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	pid, ch, err := r.Start(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "hello from stubborn\n" {
		t.Fatalf("child said %q", line)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, ch); st.Signal != unix.SIGKILL {
		t.Errorf("status %s, want SIGKILL", st)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("killed after %s, before the grace", d)
	}
	if err := unix.Kill(pid, 0); err == nil {
		t.Errorf("pid %d still exists", pid)
	}
}

func TestParentFromStat(t *testing.T) {
	ppid, ok := parentFromStat([]byte("42 (a) b (c)) S 17 42 42 0 -1"))
	if !ok || ppid != 17 {
		t.Errorf("ppid = %d, %v; want 17", ppid, ok)
	}
}

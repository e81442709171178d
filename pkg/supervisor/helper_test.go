package supervisor

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary play the services (testutil.Services).
func TestMain(m *testing.M) { testutil.Main(m, testutil.Services) }

// fixture is a running Supervisor fed by a reaper, torn down with the test.
type fixture struct {
	sup    *Supervisor
	cancel context.CancelFunc
	done   chan error
	dir    string
}

// helperService returns a service definition that runs the test binary in mode.
func helperService(t *testing.T, name, mode string, env map[string]string) *config.Service {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := map[string]string{testutil.HelperEnv: mode, "NAME": name}
	for k, v := range env {
		e[k] = v
	}
	return &config.Service{
		Name: name, Command: exe, Path: exe, Env: e, Autostart: true, Restart: config.RestartAlways,
		ExitCodes: []int{0}, StartSecs: 0, StartRetries: 3,
		Backoff: config.Duration(10 * time.Millisecond), BackoffMax: config.Duration(40 * time.Millisecond),
		StopSignal: config.Signal(unix.SIGTERM), StopTimeout: config.Duration(5 * time.Second),
		Ready: config.Ready{Timeout: config.Duration(5 * time.Second), Interval: config.Duration(10 * time.Millisecond)},
		Log:   config.Log{MaxSize: 1 << 20, MaxFiles: 2, RingLines: 100},
	}
}

func wpinitConfig(t *testing.T, dir string, services ...*config.Service) *config.Wpinit {
	t.Helper()
	w := &config.Wpinit{Version: 1, Wpinit: config.Global{LogDir: filepath.Join(dir, "log")}, Services: map[string]*config.Service{}}
	for _, s := range services {
		w.Services[s.Name] = s
		w.Order = append(w.Order, s.Name)
	}
	return w
}

func startSupervisor(t *testing.T, cfg *config.Wpinit) *fixture {
	t.Helper()
	out := &testWriter{t: t}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: out})
	r := reaper.New(log, reaper.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD)
	reaperDone := make(chan struct{})
	go func() { _ = r.Run(ctx); close(reaperDone) }()
	go func() {
		for {
			select {
			case <-sigs:
				r.Kick()
			case <-reaperDone:
				return
			}
		}
	}()
	dir := filepath.Dir(cfg.Wpinit.LogDir)
	sup := New(cfg, Options{Log: log, Output: log, Starter: r, NotifyDir: filepath.Join(dir, "notify"), StopBudget: 10 * time.Second})
	supCtx, supCancel := context.WithCancel(ctx)
	f := &fixture{sup: sup, cancel: supCancel, done: make(chan error, 1), dir: dir}
	go func() { f.done <- sup.Run(supCtx) }()
	t.Cleanup(func() {
		supCancel()
		select {
		case <-f.done:
		case <-time.After(15 * time.Second):
			t.Error("supervisor did not stop within 15s")
		}
		cancel()
		<-reaperDone
		signal.Stop(sigs)
		out.end()
	})
	return f
}

// testWriter sends log records to t.Log until the test's cleanup has ended; output
// readers may still drain a pipe after that.
type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	over bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.over {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

func (w *testWriter) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.over = true
}

func (f *fixture) status(t *testing.T, name string) Status {
	t.Helper()
	st, ok := f.find(name)
	if !ok {
		t.Fatalf("no service %q in status", name)
	}
	return st
}

func (f *fixture) find(name string) (Status, bool) {
	for _, st := range f.sup.Status() {
		if st.Name == name {
			return st, true
		}
	}
	return Status{}, false
}

// waitStatus polls until cond holds for the named service.
func (f *fixture) waitStatus(t *testing.T, name string, what string, cond func(Status) bool) Status {
	t.Helper()
	var st Status
	err := testutil.Poll(10*time.Second, func() bool {
		var ok bool
		st, ok = f.find(name)
		return ok && cond(st)
	})
	if err != nil {
		t.Fatalf("service %q: %s not reached within 10s; status %+v", name, what, st)
	}
	return st
}

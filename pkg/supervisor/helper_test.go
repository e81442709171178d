package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary play a service: SUP_CHILD selects what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("SUP_CHILD") {
	case "":
		os.Exit(m.Run())
	case "serve":
		serve()
	case "exit":
		code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
		os.Exit(code)
	}
}

// serve is a service: it records its start, says hello on both streams, becomes ready as
// configured, and records its stop when TERM comes (or ignores TERM with a grandchild).
func serve() {
	name := os.Getenv("NAME")
	// Catch TERM before announcing the start: a test that stops the service as soon as it
	// sees "start" must find the handler in place.
	sigs := make(chan os.Signal, 1)
	if os.Getenv("IGNORE_TERM") == "" {
		signal.Notify(sigs, unix.SIGTERM)
	}
	record("start " + name)
	fmt.Println("hello stdout")
	fmt.Fprintln(os.Stderr, "hello stderr")
	if os.Getenv("IGNORE_TERM") != "" {
		signal.Ignore(unix.SIGTERM)
		if os.Getenv("GRANDCHILD") == "" {
			gc := exec.Command(os.Args[0])
			gc.Env = append(os.Environ(), "GRANDCHILD=1", "NAME="+name+"-child")
			_ = gc.Start()
		}
	}
	if addr := os.Getenv("LISTEN_TCP"); addr != "" {
		if _, err := net.Listen("tcp", addr); err != nil {
			os.Exit(9)
		}
	}
	if sock := os.Getenv("NOTIFY_SOCKET"); sock != "" && os.Getenv("NO_READY") == "" {
		c, err := net.Dial("unixgram", sock)
		if err == nil {
			_, _ = c.Write([]byte("STATUS=up\nREADY=1"))
		}
	}
	<-sigs
	record("stop " + name)
	os.Exit(0)
}

func record(event string) {
	if path := os.Getenv("EVENTS"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			_, _ = f.WriteString(event + "\n")
			f.Close()
		}
	}
}

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
	e := map[string]string{"SUP_CHILD": mode, "NAME": name}
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, ok := f.find(name)
		if ok && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %q: %s not reached within 10s; status %+v", name, what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readEvents(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

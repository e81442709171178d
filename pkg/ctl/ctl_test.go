package ctl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"github.com/wp-dind/wp-dind/pkg/supervisor"
	"golang.org/x/sys/unix"
)

// fakeServices knows one service, "web", running with pid 42.
type fakeServices struct {
	calls []string
	next  chan supervisor.Line
}

func (f *fakeServices) Status() []supervisor.Status {
	return []supervisor.Status{{Name: "web", State: supervisor.Running, Pid: 42, Ready: true, Restarts: 1,
		LastExit: &reaper.ExitStatus{Pid: 41, Code: -1, Signal: unix.SIGKILL}}}
}

func (f *fakeServices) check(name, call string) error {
	if name != "web" {
		return fmt.Errorf("service %q: %w", name, supervisor.ErrUnknownService)
	}
	f.calls = append(f.calls, call)
	return nil
}

func (f *fakeServices) Start(_ context.Context, n string) error   { return f.check(n, "start") }
func (f *fakeServices) Stop(_ context.Context, n string) error    { return f.check(n, "stop") }
func (f *fakeServices) Restart(_ context.Context, n string) error { return f.check(n, "restart") }
func (f *fakeServices) Signal(_ context.Context, n string, sig unix.Signal) error {
	if sig == unix.SIGUSR2 {
		return supervisor.ErrNotRunning
	}
	return f.check(n, "signal "+unix.SignalName(sig))
}

var lines = []supervisor.Line{{Stream: "stdout", Text: "one"}, {Stream: "stderr", Text: "two"}, {Stream: "stdout", Text: "three"}}

func (f *fakeServices) Logs(n string, count int) ([]supervisor.Line, error) {
	if err := f.check(n, "logs"); err != nil {
		return nil, err
	}
	if count < 0 || count > len(lines) {
		count = len(lines)
	}
	return lines[len(lines)-count:], nil
}

func (f *fakeServices) Follow(n string, count int) ([]supervisor.Line, <-chan supervisor.Line, func(), error) {
	l, err := f.Logs(n, count)
	return l, f.next, func() {}, err
}

func newTestServer(t *testing.T) (*Server, *fakeServices) {
	t.Helper()
	s := NewServer(filepath.Join(t.TempDir(), "ctl.sock"), hclog.NewNullLogger())
	f := &fakeServices{next: make(chan supervisor.Line)}
	s.StatusSection(SectionWpinit, func(context.Context) (any, error) { return DaemonStatus{Pid: 1, Config: "/etc/w.toml"}, nil })
	s.HandleServices(f)
	s.HandleAction(RouteReload, func(context.Context) error { return Mark(errors.New("f.toml:3: services.x: unknown key"), ErrInvalid) })
	return s, f
}

func TestHandlers(t *testing.T) {
	s, f := newTestServer(t)
	tests := []struct {
		method, path, body string
		code               int
		want               string // substring of the body
	}{
		{"GET", "/v1/status", "", 200, `"last_exit":"signal 9 (SIGKILL)"`},
		{"GET", "/v1/status", "", 200, `"wpinit":{"version":"","pid":1`},
		{"POST", "/v1/services/web/restart", "", 200, "{}"},
		{"POST", "/v1/services/nope/stop", "", 404, `service \"nope\": unknown service`},
		{"POST", "/v1/services/web/explode", "", 404, `unknown action`},
		{"GET", "/v1/services/web/restart", "", 405, ""},
		{"POST", "/v1/services/web/signal", `{"signal":"hup"}`, 200, "{}"},
		{"POST", "/v1/services/web/signal", `{"signal":"USR2"}`, 409, "service not running"},
		{"POST", "/v1/services/web/signal", `{"signal":"NOPE"}`, 400, "unknown signal"},
		{"GET", "/v1/services/web/logs?n=2", "", 200, `"text":"two"}` + "\n" + `{"time"`},
		{"GET", "/v1/services/web/logs?n=x", "", 400, "invalid n"},
		{"GET", "/v1/services/nope/logs", "", 404, "unknown service"},
		{"POST", "/v1/reload", "", 422, "f.toml:3: services.x: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tt.code, tt.want)
			}
		})
	}
	if got := strings.Join(f.calls, ","); got != "restart,signal SIGHUP,logs" {
		t.Errorf("calls = %s", got)
	}
}

// TestClientOverSocket runs the server on a real unix socket and drives it with Client.
func TestClientOverSocket(t *testing.T) {
	s, f := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-s.Ready()
	if fi, err := os.Stat(s.socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	c := NewClient(s.socket)
	st, err := c.Status(ctx)
	if err != nil || len(st.Services) != 1 || st.Services[0].ExitSignal != 9 || st.Wpinit.Config != "/etc/w.toml" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	var apiErr *APIError
	if err := c.ServiceAction(ctx, "nope", "start"); !errors.As(err, &apiErr) || apiErr.Code != 404 {
		t.Errorf("unknown service: %v", err)
	}
	got := make(chan LogLine)
	go func() {
		_ = c.Logs(ctx, "web", 1, true, func(l LogLine) error { got <- l; return nil })
	}()
	if l := <-got; l.Text != "three" {
		t.Errorf("first line %q, want the last kept", l.Text)
	}
	f.next <- supervisor.Line{Stream: "stdout", Text: "four", Time: time.Now()}
	if l := <-got; l.Text != "four" {
		t.Errorf("followed line %q", l.Text)
	}
}

func TestClientUnreachable(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Status(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "reach wpinit at ") || strings.Contains(err.Error(), "http://") {
		t.Errorf("err = %v", err)
	}
	var _ http.Handler = NewServer("x", hclog.NewNullLogger()).Handler()
}

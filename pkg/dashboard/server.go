package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

// ServiceLogs follows a service's output: the last n lines, then the next ones until stop.
type ServiceLogs func(name string, n int) (lines []ctl.LogLine, next <-chan ctl.LogLine, stop func(), err error)

// ContainerLogs follows a container's output: the last tail lines, then the next ones until
// ctx ends or fn fails.
type ContainerLogs func(ctx context.Context, id string, tail int, fn func(ctl.LogLine) error) error

// Options configure the dashboard. Status is required; the others may be nil where the
// part does not exist (no instances, no Docker).
type Options struct {
	Listen        string
	Status        func(ctx context.Context) (*ctl.Status, error)
	Instances     func() (ctl.Instances, error)
	ServiceLogs   ServiceLogs
	ContainerLogs ContainerLogs
	Resources     func(wait time.Duration) resources.Sample
	Metrics       http.Handler // served at /metrics
	Links         Links
	Interval      time.Duration // between two looks at the status while a page is open
	Logger        hclog.Logger
}

// Server is the dashboard part: Run serves it until ctx ends.
type Server struct {
	opt   Options
	log   hclog.Logger
	token string
	hub   *hub
	logs  chan struct{} // one slot per log follower
	mux   *http.ServeMux
	ready chan struct{}
}

// maxFollowers bounds the log followers open at once, and followFor how long each lasts.
const (
	maxFollowers = 8
	followFor    = 15 * time.Minute
	followTail   = 200
)

// New makes the dashboard and its CSRF token (random, one per process).
func New(opt Options) (*Server, error) {
	if opt.Status == nil || opt.Logger == nil || opt.Interval <= 0 {
		return nil, errors.New("new dashboard: Status, Logger and Interval are required")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("new dashboard: make token: %w", err)
	}
	s := &Server{opt: opt, log: opt.Logger, token: hex.EncodeToString(b), logs: make(chan struct{}, maxFollowers),
		mux: http.NewServeMux(), ready: make(chan struct{})}
	s.hub = newHub(s.snapshot, opt.Interval, opt.Logger)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(assetFS, "assets")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /events", s.events)
	s.mux.HandleFunc("GET /logs", s.followLogs)
	s.mux.HandleFunc("POST /api/instances/{name}/{action}", s.action)
	if s.opt.Metrics != nil {
		s.mux.Handle("GET /metrics", s.opt.Metrics)
	}
}

// Handler is the dashboard with its guards, for Run and for tests.
func (s *Server) Handler() http.Handler { return guard(s.token, s.mux) }

// Token is the CSRF token the page carries, for tests.
func (s *Server) Token() string { return s.token }

// Ready is closed once the listener accepts connections.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run listens on Options.Listen and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", s.opt.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opt.Listen, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	close(s.ready)
	s.log.Info("dashboard listening", "address", l.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("serve dashboard: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close() // event streams and log followers do not end by themselves
	}
	return nil
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	v, err := s.snapshot(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	page, err := renderPage(s.token, v)
	if err != nil {
		s.log.Error("failed to render dashboard", "error", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// snapshot is one look at everything the page shows.
func (s *Server) snapshot(ctx context.Context) (View, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := s.opt.Status(ctx)
	if err != nil {
		return View{}, fmt.Errorf("status: %w", err)
	}
	details := map[string]ctl.InstanceDetail{}
	var backups []ctl.BackupArchive
	if in := s.instances(); in != nil && st.Instances != nil {
		for _, i := range st.Instances.Instances {
			if d, err := in.Detail(i.Name, false); err == nil {
				details[i.Name] = d
			}
		}
		backups, _ = in.Backups("")
	}
	var sample resources.Sample
	if s.opt.Resources != nil {
		sample = s.opt.Resources(0)
	}
	return buildView(st, details, backups, sample, s.opt.Links), nil
}

// instances is the instance API once the reconciler runs, else nil.
func (s *Server) instances() ctl.Instances {
	if s.opt.Instances == nil {
		return nil
	}
	in, err := s.opt.Instances()
	if err != nil {
		return nil
	}
	return in
}

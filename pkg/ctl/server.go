package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ErrNotFound marks an error about something that does not exist: the answer is 404.
var ErrNotFound = errors.New("not found")

// ErrConflict marks a request the current state refuses: the answer is 409.
var ErrConflict = errors.New("conflict")

// ErrInvalid marks input that was read and rejected, like a broken config file: 422.
var ErrInvalid = errors.New("invalid")

// Mark returns err, unchanged in its message, so that errors.Is(err, kind) holds: the
// server answers it with kind's status.
func Mark(err error, kind error) error { return marked{err, kind} }

type marked struct{ err, kind error }

func (m marked) Error() string   { return m.err.Error() }
func (m marked) Unwrap() []error { return []error{m.err, m.kind} }

// Server serves the control API on a unix socket.
type Server struct {
	socket string
	log    hclog.Logger
	mux    *http.ServeMux
	ready  chan struct{}

	mu       sync.Mutex
	sections []section
}

type section struct {
	name Section
	fn   func(context.Context) (any, error)
}

// NewServer returns a Server for socket with the status route in place.
func NewServer(socket string, log hclog.Logger) *Server {
	s := &Server{socket: socket, log: log, mux: http.NewServeMux(), ready: make(chan struct{})}
	s.mux.HandleFunc(RouteStatus, s.status)
	return s
}

// HandleAction adds a POST route that runs fn and answers {} or the error.
func (s *Server) HandleAction(pattern string, fn func(ctx context.Context) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(r.Context()); err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, struct{}{})
	})
}

// StatusSection adds a section to GET /v1/status: fn's value, of the type of name's field in
// Status, is served under name. Sections appear in the order they were added.
func (s *Server) StatusSection(name Section, fn func(context.Context) (any, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sections = append(s.sections, section{name, fn})
}

// Handler is the API as an http.Handler, for tests and for Run.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context())
	answer(w, st, err)
}

// Status assembles GET /v1/status from the registered sections: what the route answers, for
// the parts of wpinit that show it otherwise (the dashboard, /metrics).
func (s *Server) Status(ctx context.Context) (*Status, error) {
	s.mu.Lock()
	sections := append([]section(nil), s.sections...)
	s.mu.Unlock()
	st := &Status{}
	for _, sec := range sections {
		v, err := sec.fn(ctx)
		if err != nil {
			return nil, fmt.Errorf("status section %q: %w", sec.name, err)
		}
		if err := st.set(sec.name, v); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Ready is closed once the socket accepts connections.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run listens on the socket (mode 0600, replacing a stale one) and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(s.socket), 0o755); err != nil {
		return fmt.Errorf("create socket dir: %w", err)
	}
	_ = os.Remove(s.socket) // left by an earlier run; a live wpinit would own the PID namespace
	l, err := net.Listen("unix", s.socket)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.socket, err)
	}
	if err := os.Chmod(s.socket, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("restrict %s: %w", s.socket, err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	close(s.ready)
	s.log.Info("control socket listening", "socket", s.socket)
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", s.socket, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close() // followers of logs do not end by themselves
	}
	_ = os.Remove(s.socket)
	return nil
}

// WriteJSON answers code with v as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// answer writes err, or v as JSON with 200 when err is nil: the end of most handlers.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// WriteError answers err with the status its kind calls for.
func WriteError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, ErrInvalid):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	}
	WriteJSON(w, code, ErrorResponse{Error: err.Error()})
}

var errBadRequest = errors.New("bad request")

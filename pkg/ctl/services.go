package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/supervisor"
	"golang.org/x/sys/unix"
)

// Services is what the service routes need: *supervisor.Supervisor.
type Services interface {
	Status() []supervisor.Status
	Start(ctx context.Context, name string) error
	Stop(ctx context.Context, name string) error
	Restart(ctx context.Context, name string) error
	Signal(ctx context.Context, name string, sig unix.Signal) error
	Logs(name string, n int) ([]supervisor.Line, error)
	Follow(name string, n int) ([]supervisor.Line, <-chan supervisor.Line, func(), error)
}

// HandleServices adds the "services" status section and the service routes.
func (s *Server) HandleServices(svc Services) {
	s.StatusSection(SectionServices, func(context.Context) (any, error) {
		return ServiceStatuses(svc.Status()), nil
	})
	h := serviceHandlers{svc}
	s.mux.HandleFunc(RouteService, h.action)
	s.mux.HandleFunc(RouteSignal, h.signal)
	s.mux.HandleFunc(RouteLogs, h.logs)
}

// ServiceStatuses converts the supervisor's snapshots to the wire type.
func ServiceStatuses(in []supervisor.Status) []ServiceStatus {
	out := make([]ServiceStatus, 0, len(in))
	for _, st := range in {
		s := ServiceStatus{
			Name: st.Name, State: string(st.State), Pid: st.Pid, Ready: st.Ready, Started: st.Started,
			Restarts: st.Restarts, Error: st.Error, Critical: st.Critical,
		}
		if e := st.LastExit; e != nil {
			s.LastExit, s.ExitCode, s.ExitSignal = e.String(), e.Code, int(e.Signal)
		}
		out = append(out, s)
	}
	return out
}

type serviceHandlers struct{ svc Services }

// classify marks the supervisor's errors with the HTTP answer they call for.
func classify(err error) error {
	switch {
	case errors.Is(err, supervisor.ErrUnknownService):
		return Mark(err, ErrNotFound)
	case errors.Is(err, supervisor.ErrNotRunning):
		return Mark(err, ErrConflict)
	}
	return err
}

// hidden wraps a marker error without adding to the message.
type hidden struct{ error }

func (hidden) Error() string      { return "" }
func (h hidden) Unwrap() error    { return h.error }
func badRequest(msg string) error { return fmt.Errorf("%s%w", msg, hidden{errBadRequest}) }

func (h serviceHandlers) action(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var err error
	switch r.PathValue("action") {
	case "start":
		err = h.svc.Start(r.Context(), name)
	case "stop":
		err = h.svc.Stop(r.Context(), name)
	case "restart":
		err = h.svc.Restart(r.Context(), name)
	default:
		WriteError(w, Mark(fmt.Errorf("unknown action %q", r.PathValue("action")), ErrNotFound))
		return
	}
	if err != nil {
		WriteError(w, classify(err))
		return
	}
	WriteJSON(w, http.StatusOK, struct{}{})
}

func (h serviceHandlers) signal(w http.ResponseWriter, r *http.Request) {
	var req SignalRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		WriteError(w, badRequest("decode signal request: "+err.Error()))
		return
	}
	var sig config.Signal
	if err := sig.UnmarshalText([]byte(req.Signal)); err != nil {
		WriteError(w, badRequest(err.Error()))
		return
	}
	if err := h.svc.Signal(r.Context(), r.PathValue("name"), sig.S()); err != nil {
		WriteError(w, classify(err))
		return
	}
	WriteJSON(w, http.StatusOK, struct{}{})
}

// logs streams the last n lines (all kept without n) as NDJSON and, with follow=1, the
// lines that come after them until the client goes away or the service is removed.
func (h serviceHandlers) logs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n := -1
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			WriteError(w, badRequest(fmt.Sprintf("invalid n %q: use a count of lines", v)))
			return
		}
	}
	follow := r.URL.Query().Get("follow")
	if follow == "" || strings.EqualFold(follow, "0") || strings.EqualFold(follow, "false") {
		lines, err := h.svc.Logs(name, n)
		if err != nil {
			WriteError(w, classify(err))
			return
		}
		streamLines(w, lines, nil, r.Context())
		return
	}
	lines, next, stop, err := h.svc.Follow(name, n)
	if err != nil {
		WriteError(w, classify(err))
		return
	}
	defer stop()
	streamLines(w, lines, next, r.Context())
}

func streamLines(w http.ResponseWriter, lines []supervisor.Line, next <-chan supervisor.Line, ctx context.Context) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	for _, l := range lines {
		_ = enc.Encode(LogLine(l))
	}
	for {
		if flusher != nil {
			flusher.Flush()
		}
		if next == nil {
			return
		}
		select {
		case l, ok := <-next:
			if !ok {
				return
			}
			if enc.Encode(LogLine(l)) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

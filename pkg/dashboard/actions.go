package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// actionTimeout bounds one action's wait; the job goes on in the reconciler after it.
const actionTimeout = 10 * time.Minute

// actionResult is the answer to an action: a line for the page, and the secrets for "show".
type actionResult struct {
	Message string       `json:"message"`
	Secrets *ctl.Secrets `json:"secrets,omitempty"`
}

// action is POST /api/instances/{name}/{action}: xdebug (on=1|0), backup, restart, secrets.
// The guard has checked the origin and the token.
func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	in := s.instances()
	if in == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "instances are not managed yet"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	name := r.PathValue("name")
	res, err := s.run(ctx, in, name, r.PathValue("action"), r.FormValue("on"))
	if err != nil {
		s.log.Warn("dashboard action failed", "instance", name, "action", r.PathValue("action"), "error", err)
		writeJSON(w, errorCode(err), map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("dashboard action", "instance", name, "action", r.PathValue("action"))
	s.hub.soon()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, res)
}

var errUnknownAction = errors.New("unknown action")

func (s *Server) run(ctx context.Context, in ctl.Instances, name, action, on string) (*actionResult, error) {
	switch action {
	case "xdebug":
		if on != "1" && on != "0" {
			return nil, fmt.Errorf("xdebug needs on=1 or on=0: %w", errUnknownAction)
		}
		res, err := in.Xdebug(ctx, name, on == "1")
		if err != nil {
			return nil, err
		}
		return &actionResult{Message: fmt.Sprintf("%s: xdebug.mode = %s", name, res.Mode)}, nil
	case "backup":
		res, err := in.Backup(ctx, name)
		if err != nil {
			return nil, err
		}
		return &actionResult{Message: fmt.Sprintf("%s: backup %s (%s) in %s", name, filepath.Base(res.Path),
			bytesText(res.Bytes), res.Duration.Round(time.Millisecond))}, nil
	case "restart":
		res, err := in.Restart(ctx, name)
		if err != nil {
			return nil, err
		}
		return &actionResult{Message: fmt.Sprintf("%s: restarted in %s", name, res.Duration.Round(time.Millisecond))}, nil
	case "secrets":
		d, err := in.Detail(name, true)
		if err != nil {
			return nil, err
		}
		return &actionResult{Message: name + ": credentials", Secrets: d.Secrets}, nil
	}
	return nil, fmt.Errorf("%q: %w", action, errUnknownAction)
}

func errorCode(err error) int {
	switch {
	case errors.Is(err, errUnknownAction):
		return http.StatusNotFound
	case errors.Is(err, ctl.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ctl.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ctl.ErrInvalid):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

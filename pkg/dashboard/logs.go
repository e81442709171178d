package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// followLogs is GET /logs?service=NAME or ?instance=NAME&role=ROLE: the last lines, then
// the new ones, as "line" events. At most maxFollowers at once, each for followFor.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request) {
	select {
	case s.logs <- struct{}{}:
		defer func() { <-s.logs }()
	default:
		http.Error(w, "too many log followers open", http.StatusTooManyRequests)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), followFor)
	defer cancel()
	q := r.URL.Query()
	var follow func(ctx context.Context, send func(ctl.LogLine) error) error
	switch {
	case q.Get("service") != "" && s.opt.ServiceLogs != nil:
		follow = s.serviceFollower(q.Get("service"))
	case q.Get("instance") != "" && s.opt.ContainerLogs != nil:
		id, err := s.containerID(q.Get("instance"), q.Get("role"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		follow = func(ctx context.Context, send func(ctl.LogLine) error) error {
			return s.opt.ContainerLogs(ctx, id, followTail, send)
		}
	default:
		http.Error(w, "logs need service=NAME, or instance=NAME and role=db|php|web", http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sseHeaders(w)
	err := follow(ctx, func(l ctl.LogLine) error {
		data, _ := json.Marshal(l)
		if _, err := fmt.Fprintf(w, "event: line\ndata: %s\n\n", data); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	})
	if err != nil && ctx.Err() == nil {
		data, _ := json.Marshal(err.Error())
		fmt.Fprintf(w, "event: failed\ndata: %s\n\n", data)
	}
	fmt.Fprint(w, "event: end\ndata: {}\n\n")
	flusher.Flush()
}

func (s *Server) serviceFollower(name string) func(context.Context, func(ctl.LogLine) error) error {
	return func(ctx context.Context, send func(ctl.LogLine) error) error {
		lines, next, stop, err := s.opt.ServiceLogs(name, followTail)
		if err != nil {
			return err
		}
		defer stop()
		for _, l := range lines {
			if err := send(l); err != nil {
				return err
			}
		}
		for {
			select {
			case <-ctx.Done():
				return nil
			case l, ok := <-next:
				if !ok {
					return nil
				}
				if err := send(l); err != nil {
					return err
				}
			}
		}
	}
}

// containerID finds the container of an instance's role in the reconciler's view: a
// follower names what the page shows, never a raw container ID.
func (s *Server) containerID(instance, role string) (string, error) {
	in := s.instances()
	if in == nil {
		return "", errors.New("instances are not managed yet")
	}
	d, err := in.Detail(instance, false)
	if err != nil {
		return "", err
	}
	for _, c := range d.Containers {
		if c.Role == role {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("instance %q has no %q container", instance, role)
}

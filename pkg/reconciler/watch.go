package reconciler

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// watchFile triggers a pass when instances.toml changes. It watches the file's folder, not
// the file: editors that save by writing a new file and renaming it over the old one replace
// the inode a file watch would follow.
func (r *Reconciler) watchFile(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Error("failed to watch instances file, relying on resync", "error", err)
		return
	}
	defer w.Close()
	dir, file := filepath.Dir(r.opt.File), filepath.Clean(r.opt.File)
	if err := w.Add(dir); err != nil {
		r.log.Error("failed to watch instances folder, relying on resync", "dir", dir, "error", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if filepath.Clean(ev.Name) == file && !ev.Has(fsnotify.Chmod) {
				r.Trigger("file " + ev.Op.String())
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			r.log.Warn("instances file watch error", "error", err)
			r.Trigger("file watch error")
		}
	}
}

// recordEvent keeps the status's containers current between passes (applyEvent). A
// container that starts, dies or goes takes the instance's answer with it: the site is asked
// again before it counts as healthy and known to serve (a die asks for a pass, which does).
func (r *Reconciler) recordEvent(ev docker.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[ev.Instance]
	if st == nil {
		return
	}
	st.containers = applyEvent(st.containers, ev, time.Now())
	switch ev.Action {
	case docker.ActionStart:
		st.answered = false
	case docker.ActionDie, docker.ActionDestroy:
		st.answered, st.ready = false, false
	}
}

// watchEvents records the events of owned containers in the status and asks for a pass on
// die, destroy and oom; each one, and the stream's connecting and breaking, tells the
// listing cache (listing.go). When the stream breaks (dockerd restarting), it waits for the engine
// to answer again and reconnects, then tells the loop (engineBack): a container that died
// while dockerd was down sends no event, and the work in flight was planned on containers
// that may be gone.
func (r *Reconciler) watchEvents(ctx context.Context) {
	backoff := time.Second
	for first := true; ; first = false {
		if !first && r.waitEngine(ctx, backoff) != nil {
			return
		}
		connected := time.Now()
		evs, errs := r.eng.Events(ctx, r.opt.Owner)
		r.listing.watching(true, connected)
		if !first {
			r.log.Info("docker event stream reconnected")
			select {
			case r.engineBack <- struct{}{}:
			default: // one is pending already
			}
		}
		r.stream(ctx, evs, errs)
		r.listing.watching(false, time.Now())
		if ctx.Err() != nil {
			return
		}
		backoff = streamBackoff(backoff, time.Since(connected))
	}
}

// stream handles one event stream until it breaks or ctx ends.
func (r *Reconciler) stream(ctx context.Context, evs <-chan docker.Event, errs <-chan error) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-evs:
			if !ok {
				return
			}
			r.log.Debug("docker event", "action", ev.Action, "instance", ev.Instance, "role", ev.Role, "health", ev.Health)
			r.listing.changed()
			r.recordEvent(ev)
			if ev.Action == docker.ActionHealthStatus || ev.Action == docker.ActionStart || ev.Action == docker.ActionCreate {
				continue // status only: what the reconciler creates and starts itself asks for no work
			}
			r.Trigger("docker " + ev.Action + " " + ev.Instance + "/" + ev.Role)
		case err := <-errs:
			if ctx.Err() == nil {
				r.log.Warn("docker event stream broke", "error", err)
			}
			return
		}
	}
}

// waitEngine waits delay, then until the engine answers a ping (every second: a refused
// connection costs nothing, and a site waits for this to be repaired).
func (r *Reconciler) waitEngine(ctx context.Context, delay time.Duration) error {
	if err := sleep(ctx, delay); err != nil {
		return err
	}
	for {
		if err := r.eng.Ping(ctx); err == nil {
			return nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// streamBackoff is the wait before the next reconnection: 1 s after a stream that lasted a
// minute (dockerd restarted), doubling up to 30 s while streams break at once.
func streamBackoff(last, lasted time.Duration) time.Duration {
	if lasted > time.Minute {
		return time.Second
	}
	return min(last*2, 30*time.Second)
}

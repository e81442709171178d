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

// recordHealth keeps the status's container health current between passes: dockerd reports
// the first healthy check seconds after the convergence that started the container, and
// the next pass may be a resync a minute away.
func (r *Reconciler) recordHealth(ev docker.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[ev.Instance]
	if st == nil {
		return
	}
	for i := range st.containers {
		if st.containers[i].ID == ev.ContainerID {
			st.containers[i].Health = ev.Health
		}
	}
}

// watchEvents triggers a pass on die, destroy and oom of owned containers, and records
// health changes. When the stream
// breaks (dockerd restarting) it reconnects with backoff and asks for a full pass: a
// container that died while dockerd was down sends no event.
func (r *Reconciler) watchEvents(ctx context.Context) {
	backoff := time.Second
	for {
		connected := time.Now()
		evs, errs := r.eng.Events(ctx, r.opt.Owner)
	stream:
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-evs:
				if !ok {
					break stream
				}
				r.log.Debug("docker event", "action", ev.Action, "instance", ev.Instance, "role", ev.Role, "health", ev.Health)
				if ev.Action == docker.ActionHealthStatus {
					r.recordHealth(ev) // status only: a health change asks for no work
					continue
				}
				r.Trigger("docker " + ev.Action + " " + ev.Instance + "/" + ev.Role)
			case err := <-errs:
				if ctx.Err() == nil {
					r.log.Warn("docker event stream broke", "error", err)
				}
				break stream
			}
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(connected) > time.Minute {
			backoff = time.Second
		}
		if sleep(ctx, backoff) != nil {
			return
		}
		backoff = min(backoff*2, 30*time.Second)
		r.Trigger("docker events reconnected")
	}
}

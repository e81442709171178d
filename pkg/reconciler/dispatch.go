package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// worker is one goroutine converging or removing one instance.
type worker struct {
	key    string // definition being applied; a pass with another one cancels the worker
	cancel context.CancelFunc
	dirty  bool // a pass saw work while it ran: pass again when it ends
	remove bool
}

type workerDone struct {
	name    string
	key     string
	remove  bool
	changed bool // it changed containers: a follow-up pass refreshes their state in Status
	err     error
}

// dispatch starts a worker for each declared instance that has work: actions, or not known
// to serve yet. An instance that is in shape and known ready costs nothing.
func (r *Reconciler) dispatch(ctx context.Context, cfg *config.InstancesConfig, steps Steps, a Actual, netErrs map[string]error) {
	for i := range cfg.Instances {
		in := cfg.Instances[i]
		acts, ok := steps.Converge[in.Name]
		if !ok {
			continue // preparation failed, already reported
		}
		r.mu.Lock()
		st := r.inst[in.Name]
		p, ready := st.prepared, st.ready
		r.mu.Unlock()
		key := specKey(p)
		if w := r.workers[in.Name]; w != nil {
			if w.key != key || w.remove {
				w.cancel() // its definition is stale: restart with the new one
			}
			w.dirty = w.dirty || len(acts) > 0 || w.key != key
			continue
		}
		if len(acts) == 0 && ready {
			continue
		}
		if err := firstErr(netErrs[p.Def.Network], netErrs[p.Def.Shared]); err != nil {
			r.setFailed(in.Name, err)
			continue
		}
		if !r.retryDue(in.Name, key) {
			continue
		}
		current := containersOf(a, in.Name)
		r.setState(in.Name, StateConverging)
		r.start(ctx, in.Name, key, len(acts) > 0, func(ctx context.Context) error {
			return r.converge(ctx, &in, p, acts, current)
		})
	}
}

// removeGone starts a removal worker for each instance gone from the file.
func (r *Reconciler) removeGone(ctx context.Context, gone map[string][]Action) {
	for name, acts := range gone {
		if w := r.workers[name]; w != nil {
			if !w.remove {
				w.cancel()
			}
			w.dirty = true
			continue
		}
		r.mu.Lock()
		if st := r.inst[name]; st != nil {
			st.state, st.ready = StateRemoving, false
		} else {
			r.inst[name] = &instState{state: StateRemoving, cfg: config.Instance{Name: name}}
		}
		r.mu.Unlock()
		r.start(ctx, name, "", true, func(ctx context.Context) error { return r.removeInstance(ctx, name, acts) })
	}
}

// start runs fn in a worker goroutine, at most Parallelism at once.
func (r *Reconciler) start(ctx context.Context, name, key string, changes bool, fn func(context.Context) error) {
	wctx, cancel := context.WithCancel(ctx)
	remove := key == ""
	r.workers[name] = &worker{key: key, cancel: cancel, remove: remove}
	if !r.passed {
		r.first[name] = true
	}
	go func() {
		defer cancel()
		var err error
		select {
		case r.sem <- struct{}{}:
			err = fn(wctx)
			<-r.sem
		case <-wctx.Done():
			err = wctx.Err()
		}
		r.done <- workerDone{name: name, key: key, remove: remove, changed: changes, err: err}
	}()
}

// finished records a worker's outcome, on the loop goroutine.
func (r *Reconciler) finished(d workerDone) {
	w := r.workers[d.name]
	delete(r.workers, d.name)
	switch {
	case d.remove && d.err == nil:
		r.mu.Lock()
		delete(r.inst, d.name)
		r.mu.Unlock()
		r.log.Info("instance removed and archived", "instance", d.name)
	case errors.Is(d.err, context.Canceled):
		r.log.Debug("instance worker cancelled", "instance", d.name)
	case d.err != nil:
		r.setFailed(d.name, d.err)
		r.log.Error("failed to converge instance", "instance", d.name, "error", d.err)
	default:
		r.setRunning(d.name, d.key)
	}
	if w != nil && w.dirty || d.changed {
		r.Trigger("follow-up " + d.name)
	}
	if r.first[d.name] {
		delete(r.first, d.name)
		r.maybeReady()
	}
}

// retryDue spaces out retries of a failing instance (5 s doubling to 5 min) unless its
// definition changed since it failed.
func (r *Reconciler) retryDue(name, key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[name]
	if st.failures == 0 || st.failKey != key {
		return true
	}
	backoff := 5 * time.Second << min(st.failures-1, 6)
	return time.Since(st.errAt) >= min(backoff, 5*time.Minute)
}

func (r *Reconciler) setState(name, state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.inst[name]; st != nil {
		st.state = state
	}
}

func (r *Reconciler) setFailed(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.inst[name]; st != nil {
		st.fail(err)
		if st.prepared != nil {
			st.failKey = specKey(st.prepared)
		}
	}
}

func (r *Reconciler) setRunning(name, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[name]
	if st == nil {
		return
	}
	if st.state != StateRunning {
		r.log.Info("instance running", "instance", name, "url", st.cfg.URL())
	}
	st.state, st.ready, st.lastErr, st.failures, st.changed = StateRunning, true, "", 0, time.Now()
	st.failKey = key
}

func (st *instState) fail(err error) {
	st.state, st.ready = StateFailed, false
	st.lastErr, st.errAt = err.Error(), time.Now()
	st.failures++
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

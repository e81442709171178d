package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// task is one goroutine converging, removing or running a job on one instance, through the
// worker. The loop goroutine owns every task and its fields.
type task struct {
	key     string // definition being applied; a pass with another one cancels the task
	cancel  context.CancelFunc
	dirty   bool // a pass saw work while it ran: pass again when it ends
	remove  bool
	changes bool // it changes containers: a follow-up pass refreshes their state in Status
	job     *job // a ctl job (backup, restore, xdebug): passes never cancel it
}

type taskDone struct {
	name string
	t    *task
	out  outcome
	err  error
}

// dispatch starts a task for each declared instance that has work: actions, or not known
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
		if t := r.tasks[in.Name]; t != nil {
			if t.job == nil && (t.key != key || t.remove) {
				t.cancel() // its definition is stale: restart with the new one
			}
			t.dirty = t.dirty || len(acts) > 0 || t.key != key || p.XdebugReload()
			continue
		}
		if len(acts) == 0 && ready && !p.XdebugReload() {
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
		r.start(ctx, in.Name, &task{key: key, changes: len(acts) > 0}, func(ctx context.Context) (outcome, error) {
			return r.work.converge(ctx, &in, p, acts, current)
		})
	}
}

// removeGone starts a removal task for each instance gone from the file.
func (r *Reconciler) removeGone(ctx context.Context, gone map[string][]Action) {
	for name, acts := range gone {
		if t := r.tasks[name]; t != nil {
			if !t.remove && t.job == nil {
				t.cancel()
			}
			t.dirty = true
			continue
		}
		r.mu.Lock()
		if st := r.inst[name]; st != nil {
			st.state, st.ready = StateRemoving, false
		} else {
			r.inst[name] = &instState{state: StateRemoving, cfg: config.Instance{Name: name}}
		}
		r.mu.Unlock()
		r.start(ctx, name, &task{remove: true, changes: true}, func(ctx context.Context) (outcome, error) {
			return outcome{}, r.work.removeInstance(ctx, name, acts)
		})
	}
}

// start runs fn in a task goroutine as t, at most Parallelism at once.
func (r *Reconciler) start(ctx context.Context, name string, t *task, fn func(context.Context) (outcome, error)) {
	wctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	r.tasks[name] = t
	if !r.passed {
		r.first[name] = true
	}
	go func() {
		defer cancel()
		var out outcome
		var err error
		select {
		case r.sem <- struct{}{}:
			out, err = fn(wctx)
			<-r.sem
		case <-wctx.Done():
			err = wctx.Err()
		}
		r.done <- taskDone{name: name, t: t, out: out, err: err}
	}()
}

// finished records a task's outcome, on the loop goroutine, and starts the instance's next
// queued job.
func (r *Reconciler) finished(ctx context.Context, d taskDone) {
	t := d.t
	delete(r.tasks, d.name)
	if d.out.probe > 0 {
		r.setProbe(d.name, d.out.probe)
	}
	if d.out.xdebug != "" { // recorded even on a later failure: PHP-FPM did load it
		if err := instance.SetXdebugRunning(r.layout(d.name), d.out.xdebug); err != nil {
			r.log.Error("failed to record xdebug mode", "instance", d.name, "error", err)
		}
	}
	switch {
	case t.job != nil:
		r.jobDone(t.job, d.err)
	case t.remove && d.err == nil:
		r.mu.Lock()
		delete(r.inst, d.name)
		r.mu.Unlock()
		r.log.Info("instance removed and archived", "instance", d.name)
	case errors.Is(d.err, context.Canceled):
		r.log.Debug("instance task cancelled", "instance", d.name)
	case d.err != nil:
		r.setFailed(d.name, d.err)
		r.log.Error("failed to converge instance", "instance", d.name, "error", d.err)
	default:
		r.setRunning(d.name, t.key)
	}
	// A recorded Xdebug mode may already be stale: a pass that ran meanwhile compared the
	// file with the mode recorded before; pass again to compare with this one.
	if t.dirty || t.changes || d.out.xdebug != "" || t.job != nil && t.job.hold {
		r.Trigger("follow-up " + d.name)
	}
	if r.first[d.name] {
		delete(r.first, d.name)
		r.maybeReady()
	}
	r.startQueued(ctx, d.name)
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

// setPrepared records a preparation made by a task (a restore's), for the status.
func (r *Reconciler) setPrepared(name string, p *instance.Prepared) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.inst[name]; st != nil {
		st.prepared, st.state = p, StateConverging
	}
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

func (r *Reconciler) setProbe(name string, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.inst[name]; st != nil {
		st.probe = latency
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

package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// task is one goroutine converging, removing or running a job on one instance, through the
// worker. The loop goroutine owns every task and its fields.
type task struct {
	key       string // definition being applied; a pass with another one cancels the task
	cancel    context.CancelFunc
	cancelled bool // the loop cancelled it: its outcome is no failure, and it is planned again
	dirty     bool // a pass saw work while it ran: pass again when it ends
	remove    bool
	changes   bool // it changes containers: a follow-up pass refreshes their state in Status
	lane      lane
	job       *job // a ctl job (backup, restore, xdebug): passes never cancel it
}

// stop cancels the task, to plan its instance again once it has ended.
func (t *task) stop() {
	t.cancel()
	t.cancelled, t.dirty = true, true
}

type taskDone struct {
	name string
	t    *task
	out  outcome
	err  error
}

// dispatch starts a task for each declared instance that has work: actions, or not known
// to serve yet. An instance that is in shape and known ready costs nothing; one that waits
// for a removal (Steps.Wait) starts once it has ended. Repairs start first, so that the
// first convergences of the same pass find them running and let them go first (repairGate).
func (r *Reconciler) dispatch(ctx context.Context, cfg *config.InstancesConfig, steps Steps, a Actual, netErrs map[string]error) {
	var later []func()
	for i := range cfg.Instances {
		in := cfg.Instances[i]
		t, fn := r.convergence(ctx, &in, steps, a, netErrs)
		if t == nil {
			continue
		}
		start := func() {
			r.setState(in.Name, StateConverging)
			r.start(ctx, in.Name, t, fn)
		}
		if t.lane == laneRepair {
			start()
		} else {
			later = append(later, start)
		}
	}
	for _, start := range later {
		start()
	}
}

// convergence is the task that brings in to its declaration, nil when there is none to
// start now.
func (r *Reconciler) convergence(ctx context.Context, in *config.Instance, steps Steps, a Actual, netErrs map[string]error) (*task, func(context.Context) (outcome, error)) {
	acts, ok := steps.Converge[in.Name]
	if !ok {
		return nil, nil // preparation failed, already reported
	}
	r.mu.Lock()
	st := r.inst[in.Name]
	p, ready, servedKey, asleep := st.prepared, st.ready, st.servedKey, st.asleep
	r.mu.Unlock()
	key := specKey(p)
	if t := r.tasks[in.Name]; t != nil {
		if t.job == nil && (t.key != key || t.remove) {
			t.stop() // its definition is stale: restart with the new one
		}
		t.dirty = t.dirty || len(acts) > 0 || t.key != key || p.XdebugReload() || p.ActivationPending(in)
		return nil, nil
	}
	if len(acts) == 0 && (ready && !p.XdebugReload() && !p.ActivationPending(in) || asleep) {
		return nil, nil // in shape and serving, or asleep as planned
	}
	if gone := steps.Wait[in.Name]; len(gone) > 0 {
		// Their removal's end asks for the pass that converges this one.
		r.log.Debug("instance waits for removals", "instance", in.Name, "removing", gone)
		return nil, nil
	}
	if err := firstErr(netErrs[p.Def.Network], netErrs[p.Def.Shared]); err != nil {
		r.setFailed(in.Name, err)
		return nil, nil
	}
	if !r.retryDue(in.Name, key) {
		return nil, nil
	}
	if p.NeedsSeed() { // created from another instance, not filled yet (clone.go)
		src, label, fresh, ok := r.cloneSource(ctx, in, p)
		if !ok {
			return nil, nil
		}
		return &task{key: key, changes: true, lane: laneFirst}, r.cloneTask(in, p, src, label, fresh)
	}
	current := containersOf(a, in.Name)
	// A new site (sitetemplates.go), or one whose start from a template was cut off (dockerd
	// or wpinit stopped during it): that one starts again from an empty folder.
	if r.opt.SiteTemplates && (len(current) == 0 && instance.DataEmpty(p.Layout) || p.TemplateUnfinished()) {
		fn, ok := r.newSite(in, p, acts)
		if !ok {
			return nil, nil
		}
		return &task{key: key, changes: true, lane: laneOf(key, servedKey)}, fn
	}
	t := &task{key: key, changes: len(acts) > 0, lane: laneOf(key, servedKey)}
	return t, func(ctx context.Context) (outcome, error) { return r.work.converge(ctx, in, p, acts, current) }
}

// removeGone starts a removal task for each instance gone from the file.
func (r *Reconciler) removeGone(ctx context.Context, gone map[string][]Action) {
	for name, acts := range gone {
		if t := r.tasks[name]; t != nil {
			if !t.remove && t.job == nil {
				t.stop()
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
		r.start(ctx, name, &task{remove: true, changes: true, lane: laneRepair}, func(ctx context.Context) (outcome, error) {
			return outcome{}, r.work.removeInstance(ctx, name, acts)
		})
	}
}

// start runs fn in a task goroutine as t, at most Parallelism at once in t's lane.
func (r *Reconciler) start(ctx context.Context, name string, t *task, fn func(context.Context) (outcome, error)) {
	sem := r.lanes[t.lane]
	wctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	r.tasks[name] = t
	if !r.passed {
		r.first[name] = true
	}
	repair := t.lane == laneRepair && !t.remove
	if repair {
		r.gate.add()
	}
	go func() {
		defer cancel()
		var out outcome
		var err error
		if repair {
			defer r.gate.done()
		} else if t.lane == laneFirst {
			r.gate.wait(wctx, repairsFirst)
		}
		select {
		case sem <- struct{}{}:
			out, err = fn(wctx)
			<-sem
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
	if d.out.activated != nil { // recorded even on a later failure: WordPress was told
		if err := instance.SetActivated(r.layout(d.name), *d.out.activated); err != nil {
			r.log.Error("failed to record the activation", "instance", d.name, "error", err)
		}
	}
	if t.job == nil && !t.remove {
		r.siteDone(ctx, d.name, d.out, d.err)
	}
	switch {
	case t.job != nil:
		r.jobDone(t.job, d.err)
	case t.remove && d.err == nil:
		r.mu.Lock()
		delete(r.inst, d.name)
		r.mu.Unlock()
		r.log.Info("instance removed and archived", "instance", d.name)
	case t.cancelled || errors.Is(d.err, context.Canceled):
		r.log.Debug("instance task cancelled", "instance", d.name, "error", d.err)
	case d.err != nil:
		r.setFailed(d.name, d.err)
		r.log.Error("failed to converge instance", "instance", d.name, "error", d.err)
	default:
		r.setRunning(d.name, t.key)
	}
	// A recorded Xdebug mode may already be stale: a pass that ran meanwhile compared the
	// file with the mode recorded before; pass again to compare with this one.
	if t.dirty || t.changes || d.out.xdebug != "" || d.out.activated != nil || t.job != nil && t.job.hold {
		r.Trigger("follow-up " + d.name)
	}
	if r.first[d.name] {
		delete(r.first, d.name)
		r.maybeReady()
	}
	r.armRetry()
	r.startQueued(ctx, d.name)
	r.publishRoutes()
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
		st.inUse = errors.Is(err, docker.ErrAddressInUse)
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
	if st.state != StateRunning || st.asleep {
		st.awakeAt = time.Now()
	}
	st.state, st.ready, st.answered, st.lastErr, st.failures, st.changed = StateRunning, true, true, "", 0, time.Now()
	st.served, st.asleep = true, false
	st.failKey = key
	if key != "" {
		st.servedKey = key
	}
}

func (st *instState) fail(err error) {
	st.state, st.ready, st.asleep = StateFailed, false, false // a failed wake: the pass repairs it whole
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

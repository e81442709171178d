package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// A job is a ctl command on one instance (backup, restore, xdebug). It runs as the
// instance's task, so it never overlaps a convergence or another job of that instance:
// a job waits for the task in progress (or cancels it, when it preempts), and passes never
// cancel a job. A holding job also makes passes leave the instance alone (no preparation,
// no plan) while it is queued or runs, because it rewrites the instance's folder.

// ErrStopping is returned for a job asked of a reconciler that is stopping or stopped.
var ErrStopping = errors.New("reconciler is stopping")

type job struct {
	name    string
	what    string // backup, restore, xdebug: for messages
	hold    bool   // passes leave the instance alone until the job ends
	preempt bool   // cancel a convergence in progress rather than wait for it
	state   bool   // the job converges the instance: its outcome is the instance's state
	fn      func(ctx context.Context, in config.Instance) (outcome, error)
	cleanup func()      // run once the job is over or dropped, whatever happened
	onEnd   func(error) // run on the loop goroutine with the job's outcome; nil: none
	done    chan error
}

// runJob hands j to the loop and waits for its end. When ctx ends first the job goes on
// (a half-done restore is worse than a late one); its outcome is logged.
func (r *Reconciler) runJob(ctx context.Context, j *job) error {
	j.done = make(chan error, 1)
	select {
	case r.jobs <- j:
	case <-ctx.Done():
		j.drop()
		return fmt.Errorf("%s %q: %w", j.what, j.name, ctx.Err())
	case <-r.stopped:
		j.drop()
		return fmt.Errorf("%s %q: %w", j.what, j.name, ErrStopping)
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s %q goes on without a waiter: %w", j.what, j.name, ctx.Err())
	}
}

func (j *job) drop() {
	if j.cleanup != nil {
		j.cleanup()
	}
}

// end delivers the job's result, once.
func (j *job) end(err error) {
	j.drop()
	j.done <- err
}

// acceptJob queues or starts a job, on the loop goroutine.
func (r *Reconciler) acceptJob(ctx context.Context, j *job) {
	if _, ok := r.declared(j.name); !ok {
		j.end(fmt.Errorf("%s %q: %w", j.what, j.name, ErrNoInstance))
		return
	}
	if j.hold {
		r.held[j.name]++
	}
	if t := r.tasks[j.name]; t != nil {
		if j.preempt && t.job == nil {
			t.stop()
		}
		r.queued[j.name] = append(r.queued[j.name], j)
		return
	}
	r.startJob(ctx, j)
}

// declared returns the instance called name when the file in force declares it.
func (r *Reconciler) declared(name string) (config.Instance, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[name]
	if st == nil || st.state == StateRemoving || r.file.good == nil {
		return config.Instance{}, false
	}
	if _, ok := r.file.good.Lookup(name); !ok {
		return config.Instance{}, false
	}
	return st.cfg, true
}

func (r *Reconciler) startJob(ctx context.Context, j *job) {
	in, ok := r.declared(j.name)
	if !ok {
		r.release(j)
		j.end(fmt.Errorf("%s %q: %w", j.what, j.name, ErrNoInstance))
		return
	}
	r.log.Info("instance job started", "instance", j.name, "job", j.what)
	if j.state {
		r.setState(j.name, StateConverging)
	}
	r.start(ctx, j.name, &task{job: j}, func(ctx context.Context) (outcome, error) { return j.fn(ctx, in) })
}

// startQueued starts the next job queued for name, if any.
func (r *Reconciler) startQueued(ctx context.Context, name string) {
	q := r.queued[name]
	if len(q) == 0 {
		return
	}
	j := q[0]
	if len(q) == 1 {
		delete(r.queued, name)
	} else {
		r.queued[name] = q[1:]
	}
	r.startJob(ctx, j)
}

// jobDone records a job's end, on the loop goroutine.
func (r *Reconciler) jobDone(j *job, err error) {
	r.release(j)
	if j.onEnd != nil {
		j.onEnd(err)
	}
	switch {
	case err != nil:
		r.log.Error("failed to run instance job", "instance", j.name, "job", j.what, "error", err)
		if j.state && !errors.Is(err, context.Canceled) {
			r.setFailed(j.name, err)
		}
	default:
		r.log.Info("instance job done", "instance", j.name, "job", j.what)
		if j.state {
			r.setRunning(j.name, "")
		}
	}
	j.end(err)
}

func (r *Reconciler) release(j *job) {
	if !j.hold {
		return
	}
	if r.held[j.name]--; r.held[j.name] <= 0 {
		delete(r.held, j.name)
	}
}

// dropQueued fails the jobs still queued when the reconciler stops.
func (r *Reconciler) dropQueued() {
	for name, q := range r.queued {
		for _, j := range q {
			r.release(j)
			j.end(fmt.Errorf("%s %q: %w", j.what, name, ErrStopping))
		}
		delete(r.queued, name)
	}
}

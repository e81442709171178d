package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Idle sites asleep (sleep_after): a site that has had no request for that long has its PHP
// and database containers stopped; its web server stays, and the router sends its requests
// to the wake endpoint. Asleep is a state the planner knows: a pass leaves the stopped
// containers stopped. The first request through the router wakes it (Wake); so does one on
// its port URL (seen in its web server's access log at the next look), or a change of its
// definition (the pass converges it, which starts everything).

// sleepEvery is how often the idle sites are looked at, while any declares sleep_after.
const sleepEvery = 2 * time.Second

// wakePoll is how often a wake asks the containers' health checks and the site.
const wakePoll = 100 * time.Millisecond

// ErrAsleep is the error of a wait for a site that went to sleep meanwhile.
var ErrAsleep = errors.New("instance is asleep")

// sleepTick is the channel of the look at idle sites; nil (never ready) when no declared
// instance sleeps. Loop goroutine.
func (r *Reconciler) sleepTick() <-chan time.Time {
	want := false
	r.mu.Lock()
	if r.file.good != nil {
		want = slices.ContainsFunc(r.file.good.Instances, func(in config.Instance) bool { return in.SleepAfter > 0 })
	}
	r.mu.Unlock()
	switch {
	case want && r.sleeper == nil:
		r.sleeper = time.NewTicker(sleepEvery)
	case !want && r.sleeper != nil:
		r.sleeper.Stop()
		r.sleeper = nil
	}
	if r.sleeper == nil {
		return nil
	}
	return r.sleeper.C
}

// checkSleep puts the sites idle for their sleep_after to sleep, and wakes the asleep ones
// a request reached since on their port URL. Loop goroutine.
func (r *Reconciler) checkSleep(ctx context.Context) {
	now := time.Now()
	for _, c := range r.sleepCandidates() {
		last := r.lastActive(c.in, c.awakeAt)
		switch {
		case c.asleep && last.After(c.sleptAt):
			r.log.Info("waking instance: a request came", "instance", c.in.Name)
			r.acceptJob(ctx, r.wakeJob(c.in.Name))
		case !c.asleep && c.running && r.tasks[c.in.Name] == nil && r.held[c.in.Name] == 0 && now.Sub(last) >= c.in.SleepAfter:
			r.goToSleep(ctx, c.in, now.Sub(last))
		}
	}
}

type sleepCandidate struct {
	in               config.Instance
	asleep, running  bool
	awakeAt, sleptAt time.Time
}

func (r *Reconciler) sleepCandidates() []sleepCandidate {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sleepCandidate
	for _, st := range r.inst {
		if st.cfg.SleepAfter > 0 && st.state != StateRemoving {
			out = append(out, sleepCandidate{in: st.cfg, asleep: st.asleep, running: st.state == StateRunning, awakeAt: st.awakeAt, sleptAt: st.sleptAt})
		}
	}
	return out
}

// lastActive is the site's last sign of use: its last request through the router, the last
// write of its web server's access log (its port URL, and the router's requests too), or
// when it last started serving.
func (r *Reconciler) lastActive(in config.Instance, awakeAt time.Time) time.Time {
	last := awakeAt
	if r.opt.Routes != nil {
		if t := r.opt.Routes.LastRequest(in.Name); t.After(last) {
			last = t
		}
	}
	log := filepath.Join(r.layout(in.Name).LogDir(in.Web), "access.log")
	if fi, err := os.Stat(log); err == nil && fi.ModTime().After(last) {
		last = fi.ModTime()
	}
	return last
}

// goToSleep marks the site asleep, has the router send its requests to the wake endpoint,
// then stops its PHP and database (a job: never beside another task of the instance).
func (r *Reconciler) goToSleep(ctx context.Context, in config.Instance, idle time.Duration) {
	r.mu.Lock()
	st := r.inst[in.Name]
	st.asleep, st.state, st.sleptAt = true, StateSleeping, time.Now()
	r.mu.Unlock()
	r.log.Info("instance going to sleep", "instance", in.Name, "idle", idle.Round(time.Second))
	routed := r.routesApplied(r.publishRoutes())
	j := &job{name: in.Name, what: "sleep", done: make(chan error, 1),
		fn: func(ctx context.Context, in config.Instance) (outcome, error) {
			return outcome{}, r.work.sleep(ctx, in, routed)
		},
		onEnd: func(err error) {
			if err != nil { // what is left running serves again: the next pass repairs the rest
				r.setAwake(in.Name)
			}
		}}
	r.acceptJob(ctx, j)
}

func (r *Reconciler) setAwake(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.inst[name]; st != nil && st.asleep {
		st.asleep, st.state, st.ready = false, StatePending, false
	}
}

// wakeJob starts the asleep site's containers and waits for it; its outcome is the state.
func (r *Reconciler) wakeJob(name string) *job {
	return &job{name: name, what: "wake", state: true, done: make(chan error, 1),
		fn: func(ctx context.Context, in config.Instance) (outcome, error) { return r.work.wake(ctx, &in) }}
}

// Wake brings an asleep instance back (`ctl wake`, the router's wake endpoint): its
// database and PHP start, and it returns once the site serves. For an instance that is not
// asleep it waits until the site serves (a new one converging). ctx bounds the wait.
func (r *Reconciler) Wake(ctx context.Context, name string) error {
	r.mu.Lock()
	st := r.inst[name]
	asleep := st != nil && st.asleep
	r.mu.Unlock()
	if st == nil {
		return fmt.Errorf("wake %q: %w", name, ErrNoInstance)
	}
	if asleep {
		if err := r.runJob(ctx, r.wakeJob(name)); err != nil {
			return err
		}
	}
	return r.waitServing(ctx, name)
}

// waitServing waits until the instance runs: its site answered once it converged.
func (r *Reconciler) waitServing(ctx context.Context, name string) error {
	t := time.NewTicker(wakePoll)
	defer t.Stop()
	for {
		r.mu.Lock()
		st := r.inst[name]
		var state, lastErr string
		if st != nil {
			state, lastErr = st.state, st.lastErr
		}
		r.mu.Unlock()
		switch state {
		case "", StateRemoving:
			return fmt.Errorf("wait for %q: %w", name, ErrNoInstance)
		case StateRunning:
			return nil
		case StateFailed:
			return fmt.Errorf("wait for %q: it failed: %s", name, lastErr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %q (%s): %w", name, state, ctx.Err())
		case <-t.C:
		}
	}
}

// sleep stops the instance's PHP then its database, once the router no longer sends it
// requests (routed; a router that does not answer in time delays the sleep no further).
func (w *worker) sleep(ctx context.Context, in config.Instance, routed func(context.Context) error) error {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := routed(rctx)
	cancel()
	if err != nil {
		w.log.Warn("router did not take the sleep in time, stopping anyway", "instance", in.Name, "error", err)
	}
	list, err := w.containersOf(ctx, in.Name)
	if err != nil {
		return err
	}
	var asleep []docker.Container
	for _, c := range list {
		if r := instance.Role(c.Labels[docker.LabelRole]); r == instance.RolePHP || r == instance.RoleDB {
			asleep = append(asleep, c)
		}
	}
	if err := w.stopInstance(ctx, in.Name, asleep); err != nil {
		return fmt.Errorf("put %q to sleep: %w", in.Name, err)
	}
	w.log.Info("instance asleep", "instance", in.Name)
	return nil
}

// wake starts what of the instance is stopped, the database and PHP side by side (PHP-FPM
// starts without its database), waits for each to be healthy, then for the site.
func (w *worker) wake(ctx context.Context, in *config.Instance) (outcome, error) {
	start := time.Now()
	list, err := w.containersOf(ctx, in.Name)
	if err != nil {
		return outcome{}, err
	}
	var started []docker.Container
	for _, role := range instance.Roles {
		for _, c := range list {
			if c.Labels[docker.LabelRole] == string(role) && !c.Running() {
				if err := w.eng.StartContainer(ctx, c.ID); err != nil {
					return outcome{}, fmt.Errorf("wake %q: %w", in.Name, err)
				}
				started = append(started, c)
			}
		}
	}
	for _, c := range started {
		if err := w.waitHealthyEvery(ctx, c.ID, instance.ContainerSpec{Name: c.Name}, wakePoll); err != nil {
			return outcome{}, fmt.Errorf("wake %q: %w", in.Name, err)
		}
	}
	lat, err := w.waitSiteEvery(ctx, in, wakePoll)
	if err != nil {
		return outcome{}, fmt.Errorf("wake %q: %w", in.Name, err)
	}
	w.log.Info("instance awake", "instance", in.Name, "started", len(started), "duration", time.Since(start).Round(time.Millisecond))
	return outcome{probe: lat}, nil
}

// containersOf lists the instance's containers: one list call.
func (w *worker) containersOf(ctx context.Context, name string) ([]docker.Container, error) {
	all, err := w.eng.ListContainers(ctx, w.opt.owner)
	if err != nil {
		return nil, err
	}
	var out []docker.Container
	for _, c := range all {
		if c.Labels[docker.LabelInstance] == name {
			out = append(out, c)
		}
	}
	return out, nil
}

// awake wakes the instance first when it is asleep: what (a backup, a snapshot, an export...)
// needs its database running.
func (r *Reconciler) awake(ctx context.Context, name, what string) error {
	if !r.isAsleep(name) {
		return nil
	}
	if err := r.Wake(ctx, name); err != nil {
		return fmt.Errorf("wake %q for its %s: %w", name, what, err)
	}
	return nil
}

func (r *Reconciler) isAsleep(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[name]
	return st != nil && st.asleep
}

// wakeChanged wakes the asleep instances the plan has work for (their definition changed, or
// a container is gone): they converge whole, so their PHP and database are planned to start
// again as well.
func (r *Reconciler) wakeChanged(d Desired, a Actual, steps *Steps) {
	for _, di := range d.Instances {
		if !di.Asleep || len(steps.Converge[di.Name]) == 0 {
			continue
		}
		r.log.Info("waking instance: its containers change", "instance", di.Name)
		r.setAwake(di.Name)
		di.Asleep = false
		steps.Converge[di.Name] = planInstance(di, containersOf(a, di.Name))
	}
}

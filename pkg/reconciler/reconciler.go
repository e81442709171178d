package reconciler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Reconciler converges the engine to instances.toml. Create it with New, run it with Run.
//
// It owns the scheduling and the state: the loop, the job queue, the triggers and the
// status. The work on one instance (converge, remove, backup, restore, Xdebug, stop) is
// the worker's, which runs in the instance's task goroutine and answers through its
// return values and the callbacks a task hands it; it never touches r.mu.
type Reconciler struct {
	eng  docker.PassEngine
	opt  Options
	log  hclog.Logger
	work *worker

	archives archiveSizes  // sizes of the archived folders, measured once each
	listing  *listingCache // the last container listing, used again while true (listing.go)

	kick       chan struct{}
	ready      chan struct{}
	jobs       chan *job
	stopped    chan struct{} // closed when the loop has ended: jobs are refused
	engineBack chan struct{} // the event stream reconnected after it broke

	mu       sync.Mutex // guards the fields below, read by Status from other goroutines
	reasons  []string
	file     fileState
	inst     map[string]*instState
	lastPass time.Time

	// Owned by the goroutine running passes.
	tasks   map[string]*task
	done    chan taskDone
	lanes   [laneCount]chan struct{} // the task slots, Parallelism in each lane
	gate    *repairGate              // first convergences let the repairs go first
	retry   *time.Timer              // the next failed instance's retry is due; nil outside Run
	retryAt time.Time                // when retry fires; zero when it is stopped
	first   map[string]bool          // instances the first pass started, for Ready
	passed  bool
	held    map[string]int    // instances a holding job keeps out of passes
	queued  map[string][]*job // jobs waiting for the instance's task
	lastSet string            // declared instances last given to OnInstances
	told    bool
	prep    *instance.Preparer // the passes' preparations, not redone for an unchanged folder
	// The router (routes.go) and the look at idle sites (sleep.go).
	routesKey string
	routesGen uint64
	sleeper   *time.Ticker

	clones map[string]*cloneSeed // fresh snapshots asked for clones (clone.go); guarded by mu
	kinds  map[string]*kindState // site templates by kind (sitetemplates.go); guarded by mu
	// The backups of each instance, for the status and the schedule (backups_all.go);
	// guarded by mu.
	backupLast, backupSched, backupNext map[string]time.Time
}

// New returns a reconciler over eng. Every option is required (see Options); the error
// names each one missing or invalid.
func New(eng docker.Engine, opt Options) (*Reconciler, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("new reconciler: %w", err)
	}
	listing := &listingCache{}
	eng = changeCounting{Engine: eng, changed: listing.changed} // the work's changes tell it
	r := &Reconciler{
		listing: listing, eng: eng, opt: opt, log: opt.Logger, work: newWorker(eng, &opt),
		kick: make(chan struct{}, 1), ready: make(chan struct{}), jobs: make(chan *job), stopped: make(chan struct{}),
		engineBack: make(chan struct{}, 1), held: map[string]int{}, queued: map[string][]*job{},
		inst: map[string]*instState{}, tasks: map[string]*task{},
		done: make(chan taskDone), first: map[string]bool{}, gate: newRepairGate(), clones: map[string]*cloneSeed{}, kinds: map[string]*kindState{},
		backupLast: map[string]time.Time{}, backupSched: map[string]time.Time{}, backupNext: map[string]time.Time{},
		prep: instance.NewPreparer(),
	}
	for i := range r.lanes {
		r.lanes[i] = make(chan struct{}, opt.Parallelism)
	}
	return r, nil
}

// Ready is closed after the first full pass: every instance it started has converged or
// failed (a bad file at boot counts as a pass that did nothing).
func (r *Reconciler) Ready() <-chan struct{} { return r.ready }

// Trigger asks for a pass soon (HUP, `ctl reload`). It never blocks; triggers that arrive
// together make one pass.
func (r *Reconciler) Trigger(reason string) {
	r.mu.Lock()
	if len(r.reasons) < 16 {
		r.reasons = append(r.reasons, reason)
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run reconciles until ctx ends: a pass at start (after the gate), then on triggers, on file
// changes, on Docker events and every Resync. It returns nil on a clean cancel, after the
// instance tasks have stopped. It first sweeps what a crash left of restores, backups and
// snapshots, and rolls back the restores it interrupted.
func (r *Reconciler) Run(ctx context.Context) error {
	r.sweep()
	r.recoverInterrupted(ctx) // restores and snapshots a kill cut short (snapshot_restore.go)
	if r.opt.Gate != nil {
		select {
		case <-r.opt.Gate:
		case <-ctx.Done():
			return nil
		}
	}
	wctx, stopWatch := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	watchers.Go(func() { r.watchFile(wctx) })
	watchers.Go(func() { r.watchEvents(wctx) })
	watchers.Go(func() { r.runSchedule(wctx) }) // [backups] schedule (backups_all.go)
	if r.opt.ArchiveRetention > 0 {
		watchers.Go(func() { r.pruneArchives(wctx) })
	}
	defer func() { stopWatch(); watchers.Wait() }()

	r.Trigger("boot")
	r.loop(ctx)
	if !r.opt.StopOnExit {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opt.StopBudget)
	defer cancel()
	if err := r.StopAll(sctx); err != nil {
		return fmt.Errorf("stop instances: %w", err)
	}
	return nil
}

// The reasons of the passes the loop runs by itself; a pass for either lists afresh
// (listing.go).
const (
	reasonResync = "resync"
	reasonRetry  = "retry"
)

// loop runs passes and jobs until ctx ends, then stops the tasks.
func (r *Reconciler) loop(ctx context.Context) {
	defer close(r.stopped)
	resync := time.NewTicker(r.opt.Resync)
	defer resync.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	r.retry = time.NewTimer(time.Hour)
	r.retry.Stop()
	defer r.retry.Stop()
	defer func() {
		if r.sleeper != nil {
			r.sleeper.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			r.stopTasks(ctx)
			return
		case <-r.kick:
			debounce.Reset(r.opt.Debounce)
		case <-debounce.C:
			r.pass(ctx, r.takeReasons())
		case <-resync.C:
			r.pass(ctx, reasonResync)
		case <-r.retry.C:
			r.retryAt = time.Time{}
			r.pass(ctx, reasonRetry)
		case <-r.engineBack:
			r.engineReturned()
		case d := <-r.done:
			r.finished(ctx, d)
		case j := <-r.jobs:
			r.acceptJob(ctx, j)
		case <-r.sleepTick():
			r.checkSleep(ctx)
		}
	}
}

func (r *Reconciler) takeReasons() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fmt.Sprint(r.reasons)
	r.reasons = nil
	return s
}

// stopTasks cancels every task, jobs included, and waits for them.
func (r *Reconciler) stopTasks(ctx context.Context) {
	r.dropQueued()
	for _, w := range r.tasks {
		w.cancel()
	}
	for len(r.tasks) > 0 {
		r.finished(ctx, <-r.done)
	}
}

// ReconcileOnce runs one pass, and the follow-up passes it asks for, and waits for the work
// they started, without watchers: for tests and benchmarks. Not to be mixed with Run.
func (r *Reconciler) ReconcileOnce(ctx context.Context) {
	r.pass(ctx, "once")
	for len(r.tasks) > 0 {
		r.finished(ctx, <-r.done)
	}
	for r.anyDirty() {
		r.pass(ctx, "follow-up")
		for len(r.tasks) > 0 {
			r.finished(ctx, <-r.done)
		}
	}
}

func (r *Reconciler) anyDirty() bool {
	select {
	case <-r.kick:
		return true
	default:
		return false
	}
}

// StopAll stops the running containers of every owned instance, declared or not: in each
// instance web, PHP, then database, each with its stop timeout; instances in parallel.
// ctx bounds the whole (Options.StopBudget when Run calls it). Stopped containers are not
// removed: the next boot starts them again with their data (restart policy unless-stopped
// keeps dockerd from starting them on its own).
func (r *Reconciler) StopAll(ctx context.Context) error { return r.work.stopAll(ctx) }

// layout returns the on-disk layout of the instance called name.
func (r *Reconciler) layout(name string) instance.Layout {
	return instance.Layout{Root: r.opt.Root, Name: name}
}

// loadConfig reads the file with the slots held on disk, and checks it against the projects
// folder and the services' names.
func (r *Reconciler) loadConfig() (*config.InstancesConfig, error) {
	held, err := instance.Held(r.opt.Root)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadInstances(r.opt.File, held, r.opt.Ports, r.opt.ReservedPorts...)
	if err != nil {
		return nil, err
	}
	env := config.Env{Projects: r.opt.Projects}
	if r.opt.Services != nil {
		env.Services = r.opt.Services()
	}
	if err := cfg.Check(env); err != nil {
		return nil, err
	}
	return cfg, nil
}

package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Defaults of Options.
const (
	DefaultOwner         = "wpinit"
	DefaultBindAddress   = "0.0.0.0"
	DefaultProbeAddress  = "127.0.0.1"
	DefaultParallelism   = 3
	DefaultResync        = time.Minute
	DefaultDebounce      = 300 * time.Millisecond
	DefaultPoolNetworks  = 10 // wp-network-1..10 exist from boot, as in the design
	DefaultSharedNetwork = "wp-shared"
	DefaultSharedSubnet  = "172.21.0.0/16"
	// DefaultStopBudget bounds StopAll: web 10 s + PHP 10 s + database 30 s, the stop
	// timeouts of one instance's containers in order, plus the Docker calls around them.
	DefaultStopBudget = 55 * time.Second
)

// Timeouts of one instance's convergence steps.
type Timeouts struct {
	Healthy time.Duration // each container's wp-dind-health to pass (the database's first start is the longest)
	Install time.Duration // wp-dind-install
	HTTP    time.Duration // the site to answer 200 from an installed WordPress
	Backup  time.Duration // a backup: the dump and the archive
	Restore time.Duration // a restore: staging, import and convergence
}

// Options configure a Reconciler. File, Root and Logger are required.
type Options struct {
	File              string          // instances.toml
	Root              string          // instances root, /wordpress-instances
	Owner             string          // owner label value: objects of other owners are never touched
	BindAddress       string          // host address web ports are published on
	ProbeAddress      string          // address wpinit dials to reach a published port
	Parallelism       int             // instances converging at once
	Resync            time.Duration   // periodic full pass
	Debounce          time.Duration   // quiet time after a trigger before the pass
	PoolNetworks      int             // wp-network-1..N (and the shared network) kept from boot
	SharedNetwork     string          // name of the shared network
	SharedSubnet      string          // its subnet
	BlockExternalHTTP bool            // WORDPRESS_BLOCK_EXTERNAL_HTTP=1 in every instance (tests)
	ReservedPorts     []int           // host ports other services listen on (wp-dind's phpMyAdmin)
	Gate              <-chan struct{} // closed when the pass may start (images loaded); nil: no wait
	Timeouts          Timeouts
	Logger            hclog.Logger

	// StopOnExit makes Run stop every owned instance's containers when its ctx ends (web,
	// PHP, then database, each with its stop timeout; instances in parallel) within
	// StopBudget, so that a stopping wpinit leaves databases cleanly shut down.
	StopOnExit bool
	StopBudget time.Duration
	// OnInstances is called on the loop goroutine after a pass whose declared instances
	// (names, ids, ports, in file order) differ from the last call's, and after the first
	// pass. It must return quickly (phpMyAdmin's server list is written there).
	OnInstances func([]config.Instance)
	// Ports are the instances' host ports (wpinit.toml's instances.ports); zero means
	// config.DefaultPorts.
	Ports config.PortRange
}

func (o *Options) setDefaults() {
	set := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	set(&o.Owner, DefaultOwner)
	set(&o.BindAddress, DefaultBindAddress)
	set(&o.ProbeAddress, DefaultProbeAddress)
	set(&o.SharedNetwork, DefaultSharedNetwork)
	set(&o.SharedSubnet, DefaultSharedSubnet)
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Timeouts.Healthy <= 0 {
		o.Timeouts.Healthy = 3 * time.Minute
	}
	if o.Timeouts.Install <= 0 {
		o.Timeouts.Install = 5 * time.Minute
	}
	if o.Timeouts.HTTP <= 0 {
		o.Timeouts.HTTP = 2 * time.Minute
	}
	if o.Timeouts.Backup <= 0 {
		o.Timeouts.Backup = 30 * time.Minute
	}
	if o.Timeouts.Restore <= 0 {
		o.Timeouts.Restore = 30 * time.Minute
	}
	if o.StopBudget <= 0 {
		o.StopBudget = DefaultStopBudget
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
}

// Reconciler converges the engine to instances.toml. Create it with New, run it with Run.
type Reconciler struct {
	eng   docker.Engine
	opt   Options
	log   hclog.Logger
	probe func(ctx context.Context, url, host string) error

	kick    chan struct{}
	ready   chan struct{}
	jobs    chan *job
	stopped chan struct{} // closed when the loop has ended: jobs are refused

	mu       sync.Mutex // guards the fields below, read by Status from other goroutines
	reasons  []string
	file     fileState
	inst     map[string]*instState
	lastPass time.Time

	// Owned by the goroutine running passes.
	workers map[string]*worker
	done    chan workerDone
	sem     chan struct{}
	first   map[string]bool // instances the first pass started, for Ready
	passed  bool
	held    map[string]int    // instances a holding job keeps out of passes
	queued  map[string][]*job // jobs waiting for the instance's worker
	lastSet string            // declared instances last given to OnInstances
	told    bool
}

// New returns a reconciler over eng.
func New(eng docker.Engine, opt Options) (*Reconciler, error) {
	if opt.File == "" || opt.Root == "" {
		return nil, errors.New("new reconciler: instances file and root are required")
	}
	opt.setDefaults()
	r := &Reconciler{
		eng: eng, opt: opt, log: opt.Logger,
		kick: make(chan struct{}, 1), ready: make(chan struct{}), jobs: make(chan *job), stopped: make(chan struct{}),
		held: map[string]int{}, queued: map[string][]*job{},
		inst: map[string]*instState{}, workers: map[string]*worker{},
		done: make(chan workerDone), sem: make(chan struct{}, opt.Parallelism), first: map[string]bool{},
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	r.probe = func(ctx context.Context, url, host string) error { return probeWordPress(ctx, client, url, host) }
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
// instance workers have stopped.
func (r *Reconciler) Run(ctx context.Context) error {
	if r.opt.Gate != nil {
		select {
		case <-r.opt.Gate:
		case <-ctx.Done():
			return nil
		}
	}
	wctx, stopWatch := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	watchers.Add(2)
	go func() { defer watchers.Done(); r.watchFile(wctx) }()
	go func() { defer watchers.Done(); r.watchEvents(wctx) }()
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

// loop runs passes and jobs until ctx ends, then stops the workers.
func (r *Reconciler) loop(ctx context.Context) {
	defer close(r.stopped)
	resync := time.NewTicker(r.opt.Resync)
	defer resync.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			r.stopWorkers(ctx)
			return
		case <-r.kick:
			debounce.Reset(r.opt.Debounce)
		case <-debounce.C:
			r.pass(ctx, r.takeReasons())
		case <-resync.C:
			r.pass(ctx, "resync")
		case d := <-r.done:
			r.finished(ctx, d)
		case j := <-r.jobs:
			r.acceptJob(ctx, j)
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

// stopWorkers cancels every worker, jobs included, and waits for them.
func (r *Reconciler) stopWorkers(ctx context.Context) {
	r.dropQueued()
	for _, w := range r.workers {
		w.cancel()
	}
	for len(r.workers) > 0 {
		r.finished(ctx, <-r.done)
	}
}

// ReconcileOnce runs one pass, and the follow-up passes it asks for, and waits for the work
// they started, without watchers: for tests and benchmarks. Not to be mixed with Run.
func (r *Reconciler) ReconcileOnce(ctx context.Context) {
	r.pass(ctx, "once")
	for len(r.workers) > 0 {
		r.finished(ctx, <-r.done)
	}
	for r.anyDirty() {
		r.pass(ctx, "follow-up")
		for len(r.workers) > 0 {
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

// layout returns the on-disk layout of the instance called name.
func (r *Reconciler) layout(name string) instance.Layout {
	return instance.Layout{Root: r.opt.Root, Name: name}
}

// instanceOptions are the machine-wide choices passed to pkg/instance.
func (r *Reconciler) instanceOptions() instance.Options {
	return instance.Options{
		Owner: r.opt.Owner, BindAddress: r.opt.BindAddress, SharedNetwork: r.opt.SharedNetwork,
		BlockExternalHTTP: r.opt.BlockExternalHTTP,
	}
}

// Purge deletes the archived folders of name (data included): the only way wpinit
// deletes an instance's data. A declared instance's live folder is never touched.
func (r *Reconciler) Purge(name string) ([]instance.Archived, error) {
	list, err := instance.Purge(r.opt.Root, name)
	if err != nil {
		return nil, err
	}
	r.log.Info("purged archived instance", "instance", name, "folders", len(list))
	return list, nil
}

// loadConfig reads the file with the slots held on disk.
func (r *Reconciler) loadConfig() (*config.InstancesConfig, error) {
	held, err := instance.Held(r.opt.Root)
	if err != nil {
		return nil, err
	}
	return config.LoadInstancesIn(r.opt.File, r.opt.Ports, held, r.opt.ReservedPorts...)
}

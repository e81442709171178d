package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// pass is one reconciliation: load, prepare while listing, plan, then hand the work to tasks.
// It runs on the loop goroutine only, which owns r.tasks; so networks are created from one
// goroutine, as API < 1.44 requires.
func (r *Reconciler) pass(ctx context.Context, reason string) {
	start := time.Now()
	var steps Steps
	defer func() { r.passDone(start, &steps) }()
	cfg := r.load()
	if cfg == nil {
		return
	}
	r.tellInstances(cfg)
	// The engine lists while the folders are prepared: on the real engine with 99 sites
	// the listing is most of a pass that has nothing to do (and is kept for the next one:
	// listing.go). The resync and the retries list afresh.
	type listing struct {
		a   Actual
		cl  containerListing
		err error
	}
	listed := make(chan listing, 1)
	go func() {
		a, cl, err := r.list(ctx, reason == reasonResync || reason == reasonRetry)
		listed <- listing{a, cl, err}
	}()
	desired, failed := r.desired(cfg)
	l := <-listed
	actual, listedAt, err := l.a, l.cl.at, l.err
	if err != nil {
		r.log.Error("failed to list docker objects", "error", err)
		return
	}
	steps = Plan(desired, actual)
	r.wakeChanged(desired, actual, &steps)
	for name := range failed { // declared: never removed because its preparation failed
		delete(steps.Converge, name)
		delete(steps.Gone, name)
	}
	for name := range r.held { // a job rewrites it: neither converged nor removed now
		delete(steps.Converge, name)
		delete(steps.Gone, name)
	}
	r.recordContainers(actual, listedAt)
	netErrs := r.createNetworks(ctx, steps.CreateNetworks)
	r.removeGone(ctx, steps.Gone)
	r.archiveLeftovers(cfg, steps.Gone)
	r.dispatch(ctx, cfg, steps, actual, netErrs)
	r.removeNetworks(ctx, steps.RemoveNetworks)
	r.publishRoutes()
	if !steps.Empty() {
		r.log.Info("reconcile pass", "reason", reason, "instances", len(cfg.Instances), "duration", time.Since(start))
	} else {
		r.log.Debug("reconcile pass", "reason", reason, "instances", len(cfg.Instances), "duration", time.Since(start), "listing_kept", l.cl.kept)
	}
}

// load reads instances.toml. A file that does not load is reported (status and log, with
// its line) and the last good one keeps running; with no good file yet, the pass does nothing.
func (r *Reconciler) load() *config.InstancesConfig {
	cfg, err := r.loadConfig()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.file.err == nil || r.file.err.Error() != err.Error() {
			r.log.Error("failed to load instances file, keeping what runs", "file", r.opt.File, "error", err)
			r.file.errAt = time.Now()
		}
		r.file.err = err
		return r.file.good
	}
	if r.file.err != nil {
		r.log.Info("instances file loads again", "file", r.opt.File)
	}
	r.file.good, r.file.err, r.file.loaded = cfg, nil, time.Now()
	for name, st := range r.inst {
		if _, declared := cfg.Lookup(name); !declared && st.state != StateRemoving {
			delete(r.inst, name)
		}
	}
	for _, in := range cfg.Instances {
		st := r.inst[in.Name]
		if st == nil {
			st = &instState{state: StatePending}
			r.inst[in.Name] = st
		}
		st.cfg = in
	}
	return cfg
}

// desired prepares every declared instance on disk and describes what must run. An
// instance whose folder cannot be prepared is reported failed and left as it runs.
func (r *Reconciler) desired(cfg *config.InstancesConfig) (Desired, map[string]bool) {
	d := Desired{}
	failed := map[string]bool{}
	nets := map[string]bool{}
	addNet := func(spec docker.NetworkSpec) {
		if !nets[spec.Name] {
			nets[spec.Name] = true
			d.Networks = append(d.Networks, spec)
		}
	}
	for id := 1; id <= r.opt.PoolNetworks; id++ {
		addNet(r.instanceNetwork(id))
	}
	if r.opt.PoolNetworks > 0 {
		addNet(r.sharedNetwork())
	}
	now := time.Now()
	prepared := r.prepareAll(cfg, now)
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if r.held[in.Name] > 0 { // its folder is a job's; its networks stay
			addNet(r.instanceNetwork(in.ID))
			if in.Shared {
				addNet(r.sharedNetwork())
			}
			continue
		}
		p, err := prepared[i].p, prepared[i].err
		r.mu.Lock()
		st := r.inst[in.Name]
		if err != nil {
			st.fail(fmt.Errorf("prepare folder: %w", err))
			failed[in.Name] = true
		} else {
			st.prepared = p
		}
		r.mu.Unlock()
		if err != nil {
			r.log.Error("failed to prepare instance", "instance", in.Name, "error", err)
			continue
		}
		d.Instances = append(d.Instances, DesiredInstance{Name: in.Name, Containers: p.Def.Containers, Asleep: r.isAsleep(in.Name)})
		addNet(r.instanceNetwork(in.ID))
		if in.Shared {
			addNet(r.sharedNetwork())
		}
	}
	return d, failed
}

type preparedResult struct {
	p   *instance.Prepared
	err error
}

// prepareWorkers bounds the folders prepared at once. Preparing is mostly small file reads,
// stats and compares, each folder its own; an unchanged folder is only its lstats
// (instance.Preparer).
const prepareWorkers = 8

// prepareAll prepares the folders of the instances that no job holds, several at once; the
// result of instance i is at index i.
func (r *Reconciler) prepareAll(cfg *config.InstancesConfig, now time.Time) []preparedResult {
	out := make([]preparedResult, len(cfg.Instances))
	opt := r.opt.instanceOptions()
	sem := make(chan struct{}, prepareWorkers)
	var wg sync.WaitGroup
	declared := make(map[string]bool, len(cfg.Instances))
	for i := range cfg.Instances {
		declared[r.layout(cfg.Instances[i].Name).Dir()] = true
	}
	r.prep.Retain(declared) // a removed instance's preparation is not kept
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if r.held[in.Name] > 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i].p, out[i].err = r.prep.Prepare(r.opt.Root, in, opt, now)
		}()
	}
	wg.Wait()
	return out
}

func (r *Reconciler) networkLabels() map[string]string {
	return map[string]string{docker.LabelManagedBy: docker.ManagedBy, docker.LabelOwner: r.opt.Owner}
}

func (r *Reconciler) instanceNetwork(id int) docker.NetworkSpec {
	l := r.networkLabels()
	l[docker.LabelNetworkID] = fmt.Sprint(id)
	n := r.opt.Network.Instance(id)
	return docker.NetworkSpec{Name: n.Name, Subnet: n.Subnet.String(), Gateway: n.Gateway(), Bridge: n.Bridge, Labels: l}
}

func (r *Reconciler) sharedNetwork() docker.NetworkSpec {
	a := r.opt.Network
	return docker.NetworkSpec{Name: a.SharedNetwork, Subnet: a.SharedSubnet.String(), Bridge: a.SharedBridge(), Labels: r.networkLabels()}
}

// list is the pass's whole view of Docker: two requests, whatever the number of instances,
// or only the networks' when the last container listing is still true (listContainers;
// fresh asks for a new one).
func (r *Reconciler) list(ctx context.Context, fresh bool) (Actual, containerListing, error) {
	var ns []docker.Network
	var nerr error
	done := make(chan struct{})
	go func() { // both at once: each is a round trip to the engine
		defer close(done)
		ns, nerr = r.eng.ListNetworks(ctx, r.opt.Owner)
	}()
	cl, err := r.listContainers(ctx, fresh)
	<-done
	if err != nil {
		return Actual{}, cl, err
	}
	if nerr != nil {
		return Actual{}, cl, nerr
	}
	return Actual{Containers: cl.cs, Networks: ns}, cl, nil
}

// recordContainers gives the status the listing asked for at listedAt; events that arrived
// since are newer and stay (mergeListing).
func (r *Reconciler) recordContainers(a Actual, listedAt time.Time) {
	by := map[string][]docker.Container{}
	for _, c := range a.Containers {
		by[c.Labels[docker.LabelInstance]] = append(by[c.Labels[docker.LabelInstance]], c)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, st := range r.inst {
		st.containers = mergeListing(st.containers, by[name], listedAt)
	}
}

// createNetworks creates the missing networks, one after another. A network of that name
// that exists already (another owner, or made by hand) is used when its subnet is the one
// wanted, and never removed; otherwise the instances that need it fail with the reason.
func (r *Reconciler) createNetworks(ctx context.Context, specs []docker.NetworkSpec) map[string]error {
	errs := map[string]error{}
	for _, spec := range specs {
		existing, err := r.eng.NetworkByName(ctx, spec.Name)
		switch {
		case err != nil:
			errs[spec.Name] = err
		case existing != nil && existing.Subnet == spec.Subnet:
			r.log.Info("using existing network", "network", spec.Name, "subnet", spec.Subnet)
		case existing != nil:
			errs[spec.Name] = fmt.Errorf("network %q has subnet %s, not %s, and %w", spec.Name, existing.Subnet, spec.Subnet, docker.ErrNotOwned)
		default:
			if _, err := r.eng.CreateNetwork(ctx, spec); err != nil {
				errs[spec.Name] = err
			} else {
				r.log.Info("created network", "network", spec.Name, "subnet", spec.Subnet)
			}
		}
		if errs[spec.Name] != nil {
			r.log.Error("failed to create network", "network", spec.Name, "error", errs[spec.Name])
		}
	}
	return errs
}

// removeNetworks removes owned networks nothing wants. One still in use (its instance is
// being removed) fails now and goes on a later pass.
func (r *Reconciler) removeNetworks(ctx context.Context, nets []docker.Network) {
	for _, n := range nets {
		if err := r.eng.RemoveNetwork(ctx, n.ID); err != nil {
			r.log.Debug("network not removed yet", "network", n.Name, "error", err)
			continue
		}
		r.log.Info("removed network", "network", n.Name)
	}
}

// archiveLeftovers archives folders of instances that are gone from the file and have no
// container left (their removal finished, or wpinit stopped in between).
func (r *Reconciler) archiveLeftovers(cfg *config.InstancesConfig, gone map[string][]Action) {
	names, err := instance.Names(r.opt.Root)
	if err != nil {
		r.log.Error("failed to list instance folders", "error", err)
		return
	}
	for _, n := range names {
		if _, declared := cfg.Lookup(n); declared || gone[n] != nil || r.tasks[n] != nil {
			continue
		}
		r.archive(n)
	}
}

func (r *Reconciler) archive(name string) {
	dst, err := instance.Archive(r.layout(name), time.Now())
	if err != nil {
		r.log.Error("failed to archive instance", "instance", name, "error", err)
		return
	}
	if dst != "" {
		r.log.Info("archived instance", "instance", name, "path", dst)
	}
	r.mu.Lock()
	if st := r.inst[name]; st != nil && st.state != StateRemoving {
		delete(r.inst, name)
	}
	r.mu.Unlock()
}

func (r *Reconciler) passDone(start time.Time, steps *Steps) {
	r.mu.Lock()
	r.lastPass = start
	r.mu.Unlock()
	r.armRetry()
	if r.opt.OnPass != nil {
		r.opt.OnPass(PassReport{Duration: time.Since(start), Actions: steps.Counts()})
	}
	if !r.passed {
		r.passed = true
		r.maybeReady()
	}
}

func (r *Reconciler) maybeReady() {
	if r.passed && len(r.first) == 0 {
		select {
		case <-r.ready:
		default:
			close(r.ready)
		}
	}
}

// tellInstances calls OnInstances when the declared instances changed since its last call.
func (r *Reconciler) tellInstances(cfg *config.InstancesConfig) {
	if r.opt.OnInstances == nil {
		return
	}
	var b strings.Builder
	for _, in := range cfg.Instances {
		fmt.Fprintf(&b, "%s/%d/%d\n", in.Name, in.ID, in.Port)
	}
	if r.told && b.String() == r.lastSet {
		return
	}
	r.told, r.lastSet = true, b.String()
	r.opt.OnInstances(slices.Clone(cfg.Instances))
}

// specKey identifies a definition: its containers' hashes.
func specKey(p *instance.Prepared) string {
	var b strings.Builder
	for _, c := range p.Def.Containers {
		b.WriteString(c.Hash)
	}
	return b.String()
}

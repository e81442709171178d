package reconciler

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Timeouts of one instance's convergence steps.
type Timeouts struct {
	Healthy time.Duration // each container's wp-dind-health to pass (the database's first start is the longest)
	Install time.Duration // wp-dind-install
	HTTP    time.Duration // the site to answer 200 from an installed WordPress
	Backup  time.Duration // a backup: the dump and the archive
	Restore time.Duration // a restore: staging, import and convergence
}

// Options configure a Reconciler. New requires every field (StopBudget with StopOnExit) but
// the booleans, PoolNetworks (0: none), ReservedPorts, Gate and OnInstances, and defaults
// none: OptionsOf fills them from wpinit.toml's [instances] table, whose defaults
// (config.DefaultInstances) are the only ones.
type Options struct {
	File              string              // instances.toml
	Root              string              // instances root, /wordpress-instances
	Owner             string              // owner label value: objects of other owners are never touched
	BindAddress       string              // host address web ports are published on
	ProbeAddress      string              // address wpinit dials to reach a published port
	Ports             config.PortRange    // instance ports are checked against and assigned from it
	ReservedPorts     []int               // host ports other services listen on (wp-dind's phpMyAdmin)
	Network           instance.Addressing // the instances' networks, subnets and addresses
	Images            instance.Images     // the image each component runs as
	PoolNetworks      int                 // networks 1..N (and the shared network) kept from boot
	Parallelism       int                 // instances converging at once, in each lane (schedule.go)
	Resync            time.Duration       // periodic full pass
	Debounce          time.Duration       // quiet time after a trigger before the pass
	Timeouts          Timeouts
	BlockExternalHTTP bool            // WORDPRESS_BLOCK_EXTERNAL_HTTP=1 in every instance (tests)
	SiteTemplates     bool            // new sites start from their kind's template (sitetemplates.go)
	Gate              <-chan struct{} // closed when the pass may start (images loaded); nil: no wait
	ArchiveRetention  time.Duration   // removed instances' archives older than it are deleted (archives.go); 0: kept
	// Projects is the folder plugins, themes and mounts come from ("" refuses them); Services
	// names wpinit.toml's services, which no instance may be named like (config.Env); nil:
	// none. HostRoot and HostProjects are where the host sees Root and Projects, for the
	// IDE's path mappings in the status ("": as wp-dind sees them).
	Projects, HostRoot, HostProjects string
	Services                         func() []string
	// Logger is required: one root logger is built in init/ and passed down, and a
	// reconciler that logs nothing would hide every failure of every instance.
	Logger hclog.Logger

	// StopOnExit makes Run stop every owned instance's containers when its ctx ends (web,
	// PHP, then database, each with its stop timeout; instances in parallel) within
	// StopBudget, so that a stopping wpinit leaves databases cleanly shut down.
	StopOnExit bool
	StopBudget time.Duration
	// OnInstances is called on the loop goroutine after a pass whose declared instances
	// (names, ids, ports, in file order) differ from the last call's, and after the first
	// pass. It must return quickly (phpMyAdmin's server list is written there).
	OnInstances func([]config.Instance)
	// OnPass, when set, is called on the loop goroutine at the end of every pass with what
	// it did (for /metrics). It must return at once.
	OnPass func(PassReport)
	// Routes is the router (routes.go); nil: none. Sites with sleep_after still sleep, and
	// wake on a request to their port URL.
	Routes Routes
	// BackupSchedule > 0 backs up every instance that often, one at a time; BackupKeep > 0
	// keeps that many scheduled archives of each ([backups] in wpinit.toml, BackupsOf).
	BackupSchedule time.Duration
	BackupKeep     int
}

// BackupsOf adds wpinit.toml's [backups] table to o.
func (o *Options) BackupsOf(b config.Backups) {
	o.BackupSchedule, o.BackupKeep = b.Schedule.D(), b.Keep
}

// PassReport is one pass as OnPass sees it: how long it took and the actions its plan
// asked for, by kind (create, recreate, start, remove, network-create, network-remove).
type PassReport struct {
	Duration time.Duration
	Actions  map[string]int
}

// OptionsOf is the Options of wpinit.toml's [instances] table; the caller adds the Logger,
// and the Gate and OnInstances it wants.
func OptionsOf(c *config.Instances) Options {
	t := c.Timeouts
	return Options{
		File: c.File, Root: c.Root, Owner: c.Owner, BindAddress: c.BindAddress, ProbeAddress: c.ProbeAddress,
		Ports: c.Ports, ReservedPorts: c.ReservedPorts, Network: instance.NewAddressing(c), Images: instance.NewImages(c), PoolNetworks: c.PoolNetworks,
		Parallelism: c.Parallel, Resync: c.Resync.D(), Debounce: c.Debounce.D(),
		Timeouts: Timeouts{
			Healthy: t.Healthy.D(), Install: t.Install.D(), HTTP: t.HTTP.D(), Backup: t.Backup.D(), Restore: t.Restore.D(),
		},
		BlockExternalHTTP: c.BlockExternalHTTP, SiteTemplates: c.SiteTemplates, StopOnExit: c.StopOnExit, StopBudget: c.StopTimeout.D(),
		ArchiveRetention: c.ArchiveRetention.D(),
		Projects:         c.Projects, HostRoot: c.HostRoot, HostProjects: c.HostProjects,
	}
}

// check reports every missing or invalid field at once, by name: New defaults nothing.
func (o *Options) check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("option %s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, f := range []struct{ name, v string }{{"File", o.File}, {"Root", o.Root}, {"Owner", o.Owner}} {
		if f.v == "" {
			bad(f.name, "required")
		}
	}
	for _, f := range []struct{ name, v string }{{"BindAddress", o.BindAddress}, {"ProbeAddress", o.ProbeAddress}} {
		if _, err := netip.ParseAddr(f.v); err != nil {
			bad(f.name, "%q is not an IP address", f.v)
		}
	}
	if p := o.Ports; p.First < 1 || p.Last > 65535 || p.First > p.Last {
		bad("Ports", "%s is not a port range", p)
	}
	o.checkNetwork(bad)
	if o.Images.Prefix == "" {
		bad("Images", "no image prefix")
	}
	if o.PoolNetworks < 0 || o.PoolNetworks > config.MaxInstanceID {
		bad("PoolNetworks", "%d is not in 0-%d", o.PoolNetworks, config.MaxInstanceID)
	}
	if o.Parallelism < 1 {
		bad("Parallelism", "%d: must be at least 1", o.Parallelism)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"Resync", o.Resync}, {"Debounce", o.Debounce}, {"Timeouts.Healthy", o.Timeouts.Healthy},
		{"Timeouts.Install", o.Timeouts.Install}, {"Timeouts.HTTP", o.Timeouts.HTTP},
		{"Timeouts.Backup", o.Timeouts.Backup}, {"Timeouts.Restore", o.Timeouts.Restore},
	} {
		if d.d <= 0 {
			bad(d.name, "%s: must be positive", d.d)
		}
	}
	if o.ArchiveRetention < 0 {
		bad("ArchiveRetention", "%s: must not be negative", o.ArchiveRetention)
	}
	if o.StopOnExit && o.StopBudget <= 0 {
		bad("StopBudget", "%s: must be positive with StopOnExit", o.StopBudget)
	}
	if o.Logger == nil {
		bad("Logger", "required")
	}
	return errors.Join(errs...)
}

func (o *Options) checkNetwork(bad func(field, format string, args ...any)) {
	n := o.Network
	if n.NetworkPrefix == "" {
		bad("Network.NetworkPrefix", "required")
	}
	if !n.Subnets.Addr().Is4() || n.Subnets.Bits() > 16 {
		bad("Network.Subnets", "%s: must be an IPv4 /16 or larger (instance N takes its Nth /24)", n.Subnets)
	}
	if n.SharedNetwork == "" {
		bad("Network.SharedNetwork", "required")
	}
	if !n.SharedSubnet.Addr().Is4() {
		bad("Network.SharedSubnet", "%s: must be an IPv4 network", n.SharedSubnet)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/firewall"
	"github.com/wp-dind/wp-dind/pkg/images"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/phpmyadmin"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
	"github.com/wp-dind/wp-dind/pkg/sysinit"
)

// The parts that make wpinit wp-dind's init: sysinit before any service, then, once dockerd
// answers, the image loader and the reconciler. Each is configured by its wpinit.toml table
// and read at boot only.

// prepare is the sysinit part: it readies the container for a nested dockerd, then holds.
type prepare struct {
	log    hclog.Logger
	cfg    config.Sysinit
	docker config.Docker
	// instances are the instances wpinit manages (nil: none), which the firewall confines;
	// firewall is its rule sets, planned by run before ready is closed.
	instances *config.Instances
	firewall  []firewall.Ruleset
	spawn     reaper.Spawner
	ready     chan struct{}
	report    atomic.Pointer[sysinit.Report]
}

func (p *prepare) run(ctx context.Context) error {
	opts := sysinit.DefaultOptions()
	opts.DataRoot = p.cfg.DataRoot
	opts.Iptables.Mode = p.cfg.Iptables
	opts.Daemon = sysinit.DaemonConfig{Base: p.docker.DaemonConfig, Out: p.docker.DaemonConfigOut, TCP: p.docker.TCP, TLSDir: p.docker.TLSDir}
	if p.instances != nil {
		sets, err := firewall.Plan(firewallPolicy(p.instances))
		if err != nil {
			return err
		}
		p.firewall, opts.Firewall = sets, sets
	}
	opts.Run = p.runCommand
	rep, err := sysinit.Prepare(ctx, p.log, opts)
	p.report.Store(&rep)
	if err != nil {
		return fmt.Errorf("prepare container for dockerd: %w", err)
	}
	// Every child, dockerd first, finds the chosen iptables backend first in PATH.
	if err := os.Setenv("PATH", rep.Iptables.PrependPath(os.Getenv("PATH"))); err != nil {
		return fmt.Errorf("set PATH for iptables: %w", err)
	}
	close(p.ready)
	<-ctx.Done()
	return nil
}

func (p *prepare) status(context.Context) (any, error) { return sysinitReport(p.report.Load()), nil }

// runCommand runs a command to its end through the reaper; the error ends with the last
// line the command wrote on stderr (iptables-restore names the rule it refused there).
func (p *prepare) runCommand(ctx context.Context, name string, args ...string) error {
	stderr, err := os.CreateTemp("", "wpinit-cmd-*.err")
	if err != nil {
		return fmt.Errorf("run %s: %w", name, err)
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	cmd := exec.Command(name, args...)
	cmd.Stderr = stderr // a file, not a pipe: no copying goroutine that only Wait would end
	err = reaper.RunCmd(ctx, p.spawn, cmd)
	if err != nil {
		if out, rerr := os.ReadFile(stderr.Name()); rerr == nil {
			if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); lines[len(lines)-1] != "" {
				err = fmt.Errorf("%w: %s", err, lines[len(lines)-1])
			}
		}
	}
	return err
}

// applyFirewall applies the instances' firewall again with the backend sysinit chose (the
// firewall guard, after dockerd restarts).
func (p *prepare) applyFirewall(ctx context.Context) error {
	rep := p.report.Load()
	if rep == nil || rep.Iptables.BinDir == "" {
		return errors.New("apply firewall: no iptables backend")
	}
	return firewall.Apply(ctx, firewall.Tools{Run: p.runCommand, BinDir: rep.Iptables.BinDir}, p.firewall)
}

// firewallPolicy is what the instances of [instances] may reach (docs/operations.md,
// "Isolation"): MailDev's SMTP and the Xdebug client port on the wp-dind container, and on
// the shared network each other's web server.
func firewallPolicy(c *config.Instances) firewall.Policy {
	a := instancedir.NewAddressing(c)
	return firewall.Policy{
		BridgePrefix: a.BridgePrefix, SharedBridge: a.SharedBridge(), Subnets: a.Subnets, SharedSubnet: a.SharedSubnet,
		AllowTCP: []int{instancedir.SMTPPort, instancedir.XdebugPort}, SharedTCP: []int{instancedir.WebPort},
	}
}

// engine is the Docker part: it connects once the engine answers (dockerd is a service
// started just before) and holds the client for the loader and the reconciler.
type engine struct {
	log    hclog.Logger
	host   string
	ready  chan struct{}
	client *docker.Client // set before ready is closed

	mu      sync.Mutex
	lastErr string
}

func (e *engine) run(ctx context.Context) error {
	start, delay, warned := time.Now(), 100*time.Millisecond, time.Now()
	for {
		c, err := docker.Connect(ctx, e.host)
		if err == nil {
			e.client = c
			e.setErr("")
			close(e.ready)
			e.log.Info("docker engine answers", "api_version", c.APIVersion(), "waited", time.Since(start).Round(time.Millisecond))
			<-ctx.Done()
			return c.Close()
		}
		e.setErr(err.Error())
		if time.Since(warned) > 10*time.Second {
			e.log.Warn("docker engine does not answer yet", "waited", time.Since(start).Round(time.Second), "error", err)
			warned = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func (e *engine) setErr(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastErr = msg
}

func (e *engine) status(context.Context) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := ctl.DockerStatus{Host: e.host, Error: e.lastErr}
	select {
	case <-e.ready:
		st.Connected, st.APIVersion = true, e.client.APIVersion()
	default:
	}
	return st, nil
}

// loader is the image-loader part: one pass over the shared tarballs, ready when every
// tarball is settled, then it holds (a part that returns would stop wpinit).
type loader struct {
	log    hclog.Logger
	cfg    config.Images
	engine *engine
	ready  chan struct{}
	l      atomic.Pointer[images.Loader]

	instances *config.Instances // whose images the host engine provides (nil: none managed)
	ctx       context.Context   // the part's, for the fetches of fetchOnChange; set before l
}

func (p *loader) run(ctx context.Context) error {
	p.ctx = ctx
	host := hostImages(ctx, p.log, p.cfg.HostSocket, p.instances)
	l := images.New(p.log, p.cfg.Dir, p.engine.client, images.Options{Parallel: p.cfg.Parallel, Host: host})
	p.l.Store(l)
	if err := l.Run(ctx); err != nil {
		// Boot goes on: instances whose images are missing say which tarball provides them.
		p.log.Error("failed to load shared images", "dir", p.cfg.Dir, "error", err)
	}
	close(p.ready)
	<-ctx.Done()
	return nil
}

func (p *loader) status(context.Context) (any, error) {
	if l := p.l.Load(); l != nil {
		return imagesStatus(l.Status()), nil
	}
	return imagesStatus(images.Status{Dir: p.cfg.Dir}), nil
}

// errNotYet answers instance commands before the reconciler runs (dockerd not up yet).
var errNotYet = errors.New("instances are not managed yet: waiting for the docker engine and the image loader")

// instances is the reconciler part.
type instances struct {
	log     hclog.Logger
	cfg     config.Instances
	backups config.Backups
	engine  *engine
	onPass  func(reconciler.PassReport) // the metrics' hook; nil without a dashboard
	// services names wpinit's services: `ctl logs NAME` serves both, so no instance takes one.
	services func() []string
	rec      atomic.Pointer[reconciler.Reconciler]

	images *loader // fetches the images of instances declared after boot (nil: no loader)
}

func (p *instances) run(ctx context.Context) error {
	opts := reconciler.OptionsOf(&p.cfg)
	opts.Logger, opts.OnPass, opts.Services = p.log, p.onPass, p.services
	opts.BackupsOf(p.backups)
	if p.cfg.PhpMyAdminConfig != "" {
		w := &phpmyadmin.Writer{Path: p.cfg.PhpMyAdminConfig, Network: opts.Network, Logger: p.log.Named("phpmyadmin")}
		opts.OnInstances = w.Update
	}
	opts.OnInstances = p.images.fetchOnChange(opts.OnInstances, p.trigger)
	rec, err := reconciler.New(p.engine.client, opts)
	if err != nil {
		return err
	}
	p.rec.Store(rec)
	return rec.Run(ctx)
}

// reconciler returns the running reconciler, or errNotYet.
func (p *instances) reconciler() (*reconciler.Reconciler, error) {
	if r := p.rec.Load(); r != nil {
		return r, nil
	}
	return nil, errNotYet
}

// api serves the instance routes once the reconciler runs.
func (p *instances) api() (ctl.Instances, error) {
	r, err := p.reconciler()
	if err != nil {
		return nil, err
	}
	return instanceAPI{r}, nil
}

// dataAPI serves the data routes once the reconciler runs.
func (p *instances) dataAPI() (ctl.Data, error) {
	r, err := p.reconciler()
	if err != nil {
		return nil, err
	}
	return dataAPI{r}, nil
}

// trigger asks for a pass, when the reconciler runs.
func (p *instances) trigger(reason string) {
	if r := p.rec.Load(); r != nil {
		r.Trigger(reason)
	}
}

func (p *instances) status(context.Context) (any, error) {
	if r := p.rec.Load(); r != nil {
		return instancesStatus(r.Status()), nil
	}
	return instancesStatus(reconciler.Status{File: p.cfg.File}), nil
}

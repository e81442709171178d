package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/firewall"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"github.com/wp-dind/wp-dind/pkg/supervisor"
	"golang.org/x/sys/unix"
)

// daemon is wpinit running as init.
type daemon struct {
	log     hclog.Logger
	cfgPath string
	started time.Time
	reaper  *reaper.Reaper
	ctl     *ctl.Server
	sup     *supervisor.Supervisor
	// Optional parts, nil when wpinit.toml does not ask for them.
	prepare   *prepare
	engine    *engine
	loader    *loader
	instances *instances
	web       *web
	stop      chan struct{} // closed to request a graceful stop
	once      sync.Once

	reloadMu sync.Mutex
	mu       sync.Mutex
	cfgErr   string // why the last reload was refused; "" after a good one
}

// daemonMain boots wpinit, runs it until a stop and returns the exit code.
func daemonMain(args []string, sigs <-chan os.Signal) int {
	fs := flag.NewFlagSet("wpinit", flag.ContinueOnError)
	cfgPath := fs.String("config", envOr("WPINIT_CONFIG", config.DefaultWpinitPath), "services file (env WPINIT_CONFIG)")
	socket := fs.String("socket", os.Getenv("WPINIT_SOCKET"), "control socket; overrides wpinit.socket (env WPINIT_SOCKET)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "wpinit: unexpected argument %q\n%s", fs.Arg(0), usage)
		return exitUsage
	}
	cfg, err := config.LoadWpinit(*cfgPath)
	if err != nil {
		boot := hclog.New(&hclog.LoggerOptions{Name: "wpinit", Output: os.Stderr})
		for _, line := range errorLines(err) {
			boot.Error("invalid config", "error", line)
		}
		return exitConfig
	}
	if *socket != "" {
		cfg.Wpinit.Socket = *socket
	}
	if tcp := os.Getenv("WPINIT_DOCKER_TCP"); tcp != "" {
		if err := cfg.SetDockerTCP(tcp); err != nil {
			hclog.New(&hclog.LoggerOptions{Name: "wpinit", Output: os.Stderr}).Error("invalid environment", "error", err)
			return exitConfig
		}
	}
	if err := cfg.SetDashboardLinks(os.Getenv("WPINIT_PHPMYADMIN_URL"), os.Getenv("WPINIT_MAIL_URL")); err != nil {
		hclog.New(&hclog.LoggerOptions{Name: "wpinit", Output: os.Stderr}).Error("invalid environment", "error", err)
		return exitConfig
	}
	if err := cfg.SetHostPaths(os.Getenv("WPINIT_HOST_ROOT"), os.Getenv("WPINIT_HOST_PROJECTS")); err != nil {
		hclog.New(&hclog.LoggerOptions{Name: "wpinit", Output: os.Stderr}).Error("invalid environment", "error", err)
		return exitConfig
	}
	d := newDaemon(cfg, *cfgPath, os.Stderr)
	return d.run(sigs)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// stopBudgets splits the global stop budget: most for the services in order, the rest for
// the final sweep of leftover processes (TERM, grace, KILL).
func stopBudgets(total time.Duration) (services, sweepGrace time.Duration) {
	sweepGrace = min(5*time.Second, total/10)
	return total - 2*sweepGrace, sweepGrace
}

func newDaemon(cfg *config.Wpinit, cfgPath string, stderr io.Writer) *daemon {
	var mu sync.Mutex // one lock for every record written to stderr
	log := hclog.New(&hclog.LoggerOptions{Name: "wpinit", Level: hclog.LevelFromString(cfg.Wpinit.LogLevel), Output: stderr, Mutex: &mu})
	// The services' own lines are shown whatever wpinit's level is.
	output := hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: stderr, Mutex: &mu})
	// The instances stop first (their share is set aside), then the services, then the sweep.
	servicesBudget, sweepGrace := stopBudgets(cfg.Wpinit.StopTimeout.D() - cfg.InstancesStopBudget())
	d := &daemon{log: log, cfgPath: cfgPath, started: time.Now(), stop: make(chan struct{})}
	d.reaper = reaper.New(log.Named("reaper"), reaper.Options{Sweep: true, SweepGrace: sweepGrace})
	d.sup = supervisor.New(cfg, supervisor.Options{
		Log: log.Named("supervisor"), Output: output, Starter: d.reaper,
		NotifyDir: supervisor.NotifyDirFor(cfg.Wpinit.Socket), StopBudget: servicesBudget,
	})
	d.ctl = ctl.NewServer(cfg.Wpinit.Socket, log.Named("ctl"))
	d.ctl.StatusSection(ctl.SectionWpinit, d.status)
	d.ctl.HandleServices(d.sup)
	d.ctl.HandleAction(ctl.RouteReload, d.reload)
	d.ctl.HandleAction(ctl.RouteShutdown, func(context.Context) error { d.requestStop(); return nil })
	d.addPipeline(cfg)
	if cfg.Dashboard.Listen != "" {
		if err := d.addDashboard(cfg); err != nil {
			log.Error("failed to make the dashboard, going on without it", "error", err)
		}
	}
	return d
}

// addPipeline makes the optional parts wpinit.toml asks for and their status sections.
func (d *daemon) addPipeline(cfg *config.Wpinit) {
	if cfg.Sysinit.Enabled {
		d.prepare = &prepare{log: d.log.Named("sysinit"), cfg: cfg.Sysinit, docker: cfg.Docker, spawn: d.reaper, ready: make(chan struct{})}
		d.ctl.StatusSection(ctl.SectionSysinit, d.prepare.status)
		if cfg.Instances.File != "" {
			d.prepare.instances = &cfg.Instances
		}
	}
	if !cfg.UsesDocker() {
		return
	}
	d.engine = &engine{log: d.log.Named("docker"), host: cfg.Docker.Host, ready: make(chan struct{})}
	d.ctl.StatusSection(ctl.SectionDocker, d.engine.status)
	if cfg.Images.Dir != "" {
		d.loader = &loader{log: d.log.Named("images"), cfg: cfg.Images, engine: d.engine, ready: make(chan struct{})}
		if cfg.Instances.File != "" {
			d.loader.instances = &cfg.Instances
		}
		d.ctl.StatusSection(ctl.SectionImages, d.loader.status)
	}
	if cfg.Instances.File != "" {
		d.instances = &instances{log: d.log.Named("reconciler"), cfg: cfg.Instances, backups: cfg.Backups, engine: d.engine, services: d.serviceNames}
		d.instances.images = d.loader
		d.ctl.StatusSection(ctl.SectionInstances, d.instances.status)
		d.ctl.HandleInstances(d.instances.api)
		d.ctl.HandleData(d.instances.dataAPI)
		d.ctl.HandleArchives(d.instances.archives)
		d.ctl.HandleInstanceLogs(d.instances.logs)
	}
}

// parts is the boot order; the stop goes the other way. Inserting a part is one line here.
// The image loader and the reconciler start once dockerd (a service) answers; the reconciler
// once every shared tarball is settled.
func (d *daemon) parts() []part {
	ps := []part{{name: "reaper", run: d.reaper.Run}}
	if d.prepare != nil {
		ps = append(ps, part{name: "sysinit", run: d.prepare.run, ready: d.prepare.ready})
	}
	ps = append(ps, part{name: "ctl", run: d.ctl.Run, ready: d.ctl.Ready()})
	if d.web != nil {
		ps = append(ps, part{name: "dashboard", run: d.web.run})
	}
	ps = append(ps, part{name: "supervisor", run: d.sup.Run})
	if d.engine != nil {
		ps = append(ps, part{name: "docker", run: d.engine.run, ready: d.engine.ready})
		if d.prepare != nil && d.prepare.instances != nil {
			ps = append(ps, part{name: "firewall", run: d.guardFirewall})
		}
	}
	if d.loader != nil {
		ps = append(ps, part{name: "images", run: d.loader.run, ready: d.loader.ready})
	}
	if d.instances != nil {
		ps = append(ps, part{name: "instances", run: d.instances.run})
	}
	return ps
}

// guardFirewall is the firewall part: sysinit installed the instances' firewall before
// dockerd; it is applied again once the engine answers and after each dockerd restart.
func (d *daemon) guardFirewall(ctx context.Context) error {
	g := &firewall.Guard{Engine: d.engine.client, Apply: d.prepare.applyFirewall, Log: d.log.Named("firewall")}
	return g.Run(ctx)
}

// run is the signal switch: it runs until the parts have stopped.
func (d *daemon) run(sigs <-chan os.Signal) int {
	d.log.Info("starting", "version", version(), "pid", os.Getpid(), "config", d.cfgPath)
	done := make(chan error, 1)
	go func() { done <- runParts(d.log, d.parts(), d.stop) }()
	for {
		select {
		case sig := <-sigs:
			d.signal(sig.(unix.Signal))
		case err := <-done:
			return d.exitCode(err)
		}
	}
}

func (d *daemon) signal(sig unix.Signal) {
	switch sig {
	case unix.SIGCHLD:
		d.reaper.Kick()
	case unix.SIGTERM, unix.SIGINT:
		d.log.Info("stopping", "signal", unix.SignalName(sig))
		d.requestStop()
	case unix.SIGQUIT:
		d.log.Info("stopping fast: killing every service", "signal", unix.SignalName(sig))
		d.sup.KillAll()
		d.requestStop()
	case unix.SIGHUP:
		go func() { _ = d.reload(context.Background()) }()
	case unix.SIGUSR1:
		d.dumpStatus()
	case unix.SIGPIPE:
		// caught and dropped: a closed log reader must not kill init
	}
}

func (d *daemon) requestStop() { d.once.Do(func() { close(d.stop) }) }

func (d *daemon) exitCode(err error) int {
	var critical *supervisor.CriticalError
	switch {
	case err == nil:
		d.log.Info("stopped")
		return exitOK
	case errors.As(err, &critical):
		d.log.Error("stopped after a critical failure", "service", critical.Service, "exit_code", exitCritical)
		return exitCritical
	default:
		d.log.Error("stopped after a failure", "error", err, "exit_code", exitFailure)
		return exitFailure
	}
}

// reload rereads the config file and applies it; an invalid file changes nothing and its
// problems show in the status until a good reload.
func (d *daemon) reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.instances != nil {
		d.instances.trigger("reload") // instances.toml is its own file: reread it whatever wpinit.toml holds
	}
	d.log.Info("reloading", "config", d.cfgPath)
	cfg, err := config.LoadWpinit(d.cfgPath)
	if err != nil {
		lines := errorLines(err)
		for _, line := range lines {
			d.log.Error("invalid config: keeping the running one", "error", line)
		}
		d.setConfigError(strings.Join(lines, "\n"))
		return ctl.Mark(fmt.Errorf("reload %s: %w", d.cfgPath, err), ctl.ErrInvalid)
	}
	d.log.SetLevel(hclog.LevelFromString(cfg.Wpinit.LogLevel))
	if err := d.sup.Apply(ctx, cfg); err != nil {
		d.setConfigError(err.Error())
		return fmt.Errorf("apply %s: %w", d.cfgPath, err)
	}
	d.setConfigError("")
	return nil
}

func (d *daemon) setConfigError(msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfgErr = msg
}

func (d *daemon) status(context.Context) (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return ctl.DaemonStatus{
		Version: version(), Pid: os.Getpid(), Started: d.started, Config: d.cfgPath, ConfigError: d.cfgErr,
		Reaped: d.reaper.Reaped(), Orphans: d.reaper.Orphans(),
	}, nil
}

// dumpStatus writes one record per service (SIGUSR1), for a look without ctl.
func (d *daemon) dumpStatus() {
	st, _ := d.status(context.Background())
	ds := st.(ctl.DaemonStatus)
	d.log.Info("status", "pid", ds.Pid, "reaped", ds.Reaped, "orphans", ds.Orphans, "config_error", ds.ConfigError)
	for _, s := range ctl.ServiceStatuses(d.sup.Status()) {
		d.log.Info("service status", "service", s.Name, "state", s.State, "pid", s.Pid, "ready", s.Ready,
			"restarts", s.Restarts, "last_exit", s.LastExit, "error", s.Error)
	}
}

// errorLines is one line per problem of a config error.
func errorLines(err error) []string {
	fes := config.FieldErrors(err)
	if len(fes) == 0 {
		return []string{err.Error()}
	}
	lines := make([]string, len(fes))
	for i, fe := range fes {
		lines[i] = fe.Error()
	}
	return lines
}

// serviceNames are the supervisor's services now: no instance may be named like one.
func (d *daemon) serviceNames() []string {
	var names []string
	for _, s := range d.sup.Status() {
		names = append(names, s.Name)
	}
	return names
}

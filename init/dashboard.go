package main

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/dashboard"
	"github.com/wp-dind/wp-dind/pkg/docker"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/metrics"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
	"github.com/wp-dind/wp-dind/pkg/resources"
	"github.com/wp-dind/wp-dind/pkg/supervisor"
)

// web is the dashboard part ([dashboard] listen): the page, /metrics beside it, and the
// resources sampler both read. It starts after ctl; a listener that fails is logged and
// the rest of wpinit goes on (the sites do not depend on their dashboard).
type web struct {
	log     hclog.Logger
	srv     *dashboard.Server
	sampler *resources.Sampler
}

func (w *web) run(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); _ = w.sampler.Run(ctx) }()
	if err := w.srv.Run(ctx); err != nil {
		w.log.Error("failed to serve the dashboard, going on without it", "error", err)
		<-ctx.Done()
	}
	<-done
	return nil
}

// addDashboard makes the dashboard part, its metrics and sampler, from what the daemon has.
func (d *daemon) addDashboard(cfg *config.Wpinit) error {
	c := cfg.Dashboard
	log := d.log.Named("dashboard")
	sampler := resources.NewSampler(resources.Options{
		List: d.containers, Cgroups: &resources.Cgroups{Root: c.CgroupRoot}, Interval: c.SampleInterval.D(), IdleAfter: time.Minute,
		Disk:      &resources.Disk{Paths: d.diskPaths(cfg), MaxEntries: 2_000_000, Timeout: 30 * time.Second},
		DiskEvery: c.DiskInterval.D(), Logger: log,
	})
	m := metrics.New(metrics.Options{Status: d.ctl.Status, Resources: func() resources.Sample { return sampler.Latest(time.Second) }, Timeout: 5 * time.Second})
	if d.instances != nil {
		d.instances.onPass = func(p reconciler.PassReport) { m.ObservePass(p.Duration, p.Actions) }
	}
	opt := dashboard.Options{
		Listen: c.Listen, Status: d.ctl.Status, ServiceLogs: d.serviceLogs, Resources: sampler.Latest,
		Metrics: m.Handler(), Links: dashboardLinks(cfg),
		Interval: c.Interval.D(), Logger: log,
	}
	if d.instances != nil {
		opt.Instances = d.instances.api
	}
	if d.engine != nil {
		opt.ContainerLogs = d.engine.followLogs
	}
	srv, err := dashboard.New(opt)
	if err != nil {
		return err
	}
	d.web = &web{log: log, srv: srv, sampler: sampler}
	return nil
}

// dashboardLinks are the dashboard's links: through the router by name when it runs
// (phpmyadmin.localhost and mail.localhost when it routes them, wp-dind.localhost for the
// dashboard itself), else the port URLs of [dashboard].
func dashboardLinks(cfg *config.Wpinit) dashboard.Links {
	c := cfg.Dashboard
	l := dashboard.Links{PhpMyAdmin: c.PhpMyAdminURL, Mail: c.MailURL}
	rs := routerLinks(cfg.Router)
	if rs == nil {
		return l
	}
	l.Named = rs.URL
	for name, dst := range map[string]*string{"phpmyadmin": &l.PhpMyAdmin, "mail": &l.Mail, "wp-dind": &l.Dashboard} {
		if _, routed := cfg.Router.Services[name]; routed {
			*dst = rs.URL(name + ".localhost")
		}
	}
	return l
}

// containers lists the instances' containers for the sampler, from the reconciler's view:
// no Docker request.
func (d *daemon) containers(context.Context) ([]resources.Container, error) {
	if d.instances == nil {
		return nil, nil
	}
	api, err := d.instances.api()
	if err != nil {
		return nil, err
	}
	st, _ := d.instances.status(context.Background())
	var out []resources.Container
	for _, i := range st.(*ctl.InstancesStatus).Instances {
		det, err := api.Detail(i.Name, false)
		if err != nil {
			continue // removed meanwhile
		}
		for _, c := range det.Containers {
			if c.State == "running" {
				out = append(out, resources.Container{ID: c.ID, Instance: i.Name, Role: c.Role, Name: c.Name})
			}
		}
	}
	return out, nil
}

// diskPaths: each instance's data folder, and the backups folder.
func (d *daemon) diskPaths(cfg *config.Wpinit) func() map[string]string {
	root := cfg.Instances.Root
	return func() map[string]string {
		if cfg.Instances.File == "" {
			return nil // no instances, no backups
		}
		out := map[string]string{resources.BackupsKey: backup.Dir(root)}
		names, _ := instancedir.Names(root)
		for _, n := range names {
			out[n] = filepath.Dir(instancedir.Layout{Root: root, Name: n}.WordPressDir())
		}
		return out
	}
}

// serviceLogs is the supervisor's Follow in ctl's wire type.
func (d *daemon) serviceLogs(name string, n int) ([]ctl.LogLine, <-chan ctl.LogLine, func(), error) {
	lines, next, stop, err := d.sup.Follow(name, n)
	if err != nil {
		return nil, nil, nil, err
	}
	out, done := make(chan ctl.LogLine), make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case l, ok := <-next:
				if !ok {
					return
				}
				select {
				case out <- ctl.LogLine(l):
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	return convert(lines, func(l supervisor.Line) ctl.LogLine { return ctl.LogLine(l) }), out, func() { close(done); stop() }, nil
}

var errNoEngine = errors.New("the docker engine is not connected yet")

// followLogs follows a container's output through the engine's client, once connected.
func (e *engine) followLogs(ctx context.Context, id string, tail int, fn func(ctl.LogLine) error) error {
	select {
	case <-e.ready:
	default:
		return errNoEngine
	}
	return e.client.FollowLogs(ctx, id, tail, func(l docker.LogLine) error {
		return fn(ctl.LogLine{Time: time.Now(), Stream: l.Stream, Text: l.Text})
	})
}

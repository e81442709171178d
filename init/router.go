package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wp-dind/wp-dind/pkg/ca"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
	"github.com/wp-dind/wp-dind/pkg/router"
)

// The router part ([router]): pkg/router's Router over the supervised nginx of the service
// [router] service names, with the local CA under the instances root. It runs before the
// supervisor, so that the service finds its first configuration; `nginx -t` runs through
// the reaper, the graceful reload is the supervisor's HUP to the service.

// CADir is the local CA's folder under the instances root.
const CADir = ".ca"

type routerPart struct {
	r  *router.Router
	ca *ca.Authority
}

// addRouter makes the router part; an error leaves wpinit without one (the sites keep
// their port URLs).
func (d *daemon) addRouter(cfg *config.Wpinit) error {
	rc := cfg.Router
	authority, err := ca.Open(filepath.Join(cfg.Instances.Root, CADir), time.Now())
	if err != nil {
		return err
	}
	u, err := user.Lookup(rc.User)
	if err != nil {
		return fmt.Errorf("router.user %q: %w", rc.User, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	nginx := cfg.Services[rc.Service].Path
	var services []router.Service
	for _, name := range slices.Sorted(maps.Keys(rc.Services)) {
		services = append(services, router.Service{Name: name, Upstream: rc.Services[name]})
	}
	r, err := router.New(router.Options{
		HTTP: rc.HTTP, HTTPS: rc.HTTPS, PublicHTTPPort: rc.PublicHTTPPort, PublicHTTPSPort: rc.PublicHTTPSPort,
		Dir: rc.Dir, User: rc.User, UID: uid, GID: gid, Services: services, CA: authority,
		Validate: func(ctx context.Context, file string) error {
			return runCommand(ctx, d.reaper, nginx, "-t", "-q", "-c", file)
		},
		Reload: func(ctx context.Context) error { return d.sup.Signal(ctx, rc.Service, unix.SIGHUP) },
		Wake:   d.wake,
		Logger: d.log.Named("router"),
	})
	if err != nil {
		return err
	}
	d.router = &routerPart{r: r, ca: authority}
	d.ctl.StatusSection(ctl.SectionRouter, func(context.Context) (any, error) { return routerStatus(r.Status()), nil })
	return nil
}

var errNoRouter = errors.New("no router: [router] is off in wpinit.toml, so there is no local CA")

// caPEM is `ctl ca`.
func (d *daemon) caPEM() ([]byte, error) {
	if d.router == nil {
		return nil, ctl.Mark(errNoRouter, ctl.ErrNotFound)
	}
	return d.router.ca.CertPEM(), nil
}

// wake is `ctl wake` and the router's wake endpoint: the reconciler's Wake.
func (d *daemon) wake(ctx context.Context, name string) error {
	if d.instances == nil {
		return ctl.Mark(errors.New("no instances: [instances] is off in wpinit.toml"), ctl.ErrNotFound)
	}
	rec, err := d.instances.reconciler()
	if err != nil {
		return ctl.Mark(err, ctl.ErrConflict)
	}
	return markInstanceErr(rec.Wake(ctx, name))
}

// routes adapts the router to what the reconciler tells it.
type routes struct{ r *router.Router }

func (a routes) Set(rs []reconciler.Route) uint64 {
	return a.r.Set(convert(rs, func(x reconciler.Route) router.Site { return router.Site(x) }))
}

func (a routes) Applied(ctx context.Context, gen uint64) error { return a.r.Applied(ctx, gen) }

func (a routes) LastRequest(name string) time.Time { return a.r.LastRequest(name) }

func routerStatus(s router.Status) *ctl.RouterStatus {
	return &ctl.RouterStatus{HTTP: s.HTTP, HTTPS: s.HTTPS, PublicHTTPPort: s.PublicHTTPPort, PublicHTTPSPort: s.PublicHTTPSPort,
		CA: s.CA, Generation: s.Generation, Wanted: s.Wanted, Applied: s.Applied, Took: s.Took, Reloads: s.Reloads,
		Error: s.Error, ErrorAt: s.ErrorAt, Conflicts: s.Conflicts,
		Sites: convert(s.Sites, func(x router.SiteStatus) ctl.RouterSiteStatus { return ctl.RouterSiteStatus(x) })}
}

// routerLinks is where a browser on the host reaches names through the router, for the
// dashboard's links: the router's status as far as URL needs it; nil without a router.
func routerLinks(rc config.Router) *ctl.RouterStatus {
	if !rc.Enabled() {
		return nil
	}
	return &ctl.RouterStatus{HTTP: rc.HTTP, HTTPS: rc.HTTPS, PublicHTTPPort: rc.PublicHTTPPort, PublicHTTPSPort: rc.PublicHTTPSPort}
}

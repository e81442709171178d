package reconciler

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Routes is the router as the reconciler sees it (init/ adapts pkg/router): it is told every
// declared site, with whether the site serves, after each pass and each change of a site's
// state; a site that does not serve (asleep, or not serving yet) goes to the router's wake
// endpoint, which calls Wake.
type Routes interface {
	// Set hands over the declared sites and returns the generation that holds them. It must
	// return at once.
	Set(routes []Route) uint64
	// Applied waits until the router serves generation gen, or a later one.
	Applied(ctx context.Context, gen uint64) error
	// LastRequest is the site's last request through the router; zero when none was seen.
	LastRequest(name string) time.Time
}

// Route is one declared site for the router.
type Route struct {
	Name     string
	Names    []string // config.Instance.Names: NAME.localhost first
	Upstream string   // its web server on its network, "172.20.1.4:80"
	Serving  bool     // it has served since wpinit started, and is not asleep
}

// publishRoutes tells the router the declared sites when they differ from what it was told
// last, and returns the generation that holds them (0 without a router). Loop goroutine.
func (r *Reconciler) publishRoutes() uint64 {
	if r.opt.Routes == nil {
		return 0
	}
	routes := r.routes()
	key := fmt.Sprint(routes)
	if key != r.routesKey || r.routesGen == 0 {
		r.routesKey, r.routesGen = key, r.opt.Routes.Set(routes)
	}
	return r.routesGen
}

// routes are the declared sites in file order.
func (r *Reconciler) routes() []Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file.good == nil {
		return []Route{}
	}
	out := make([]Route, 0, len(r.file.good.Instances))
	for _, in := range r.file.good.Instances {
		st := r.inst[in.Name]
		if st == nil || st.state == StateRemoving {
			continue
		}
		web := r.opt.Network.Instance(in.ID).IP(instance.RoleWeb)
		out = append(out, Route{
			Name: in.Name, Names: in.Names(), Upstream: web + ":" + strconv.Itoa(instance.WebPort),
			Serving: st.served && !st.asleep,
		})
	}
	return out
}

// routesApplied waits (in a task) until the router serves gen; always nil without a router.
func (r *Reconciler) routesApplied(gen uint64) func(context.Context) error {
	return func(ctx context.Context) error {
		if r.opt.Routes == nil || gen == 0 {
			return nil
		}
		return r.opt.Routes.Applied(ctx, gen)
	}
}

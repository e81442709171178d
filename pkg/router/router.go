package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/ca"
)

// Options configure a Router. Validate, Reload and Logger are required.
type Options struct {
	HTTP, HTTPS string // listen addresses ("" = none)
	// PublicHTTPPort and PublicHTTPSPort are where a browser on the host reaches them (the
	// status tells them, for the links of the dashboard and of `ctl sites`).
	PublicHTTPPort, PublicHTTPSPort int
	Dir                             string    // its configuration, sockets and temporary files
	User                            string    // nginx's workers
	UID, GID                        int       // the workers' ids: their temporary folders are theirs
	Services                        []Service // wpinit's own web UIs
	CA                              *ca.Authority
	// Validate runs `nginx -t -c file`; Reload sends HUP to the router's service (an error
	// when it does not run: it reads the file when it starts).
	Validate func(ctx context.Context, file string) error
	Reload   func(ctx context.Context) error
	// Wake brings the site back (asleep) or waits for it (not serving yet) and returns
	// once it serves. nil: the wake endpoint waits for the site to serve by itself.
	Wake   func(ctx context.Context, name string) error
	Logger hclog.Logger
	// Hold bounds how long the wake endpoint holds a request; 30 s when zero.
	Hold time.Duration
}

// Router renders, checks and applies the router's configuration whenever its sites change,
// and serves the wake endpoint and the access log's socket. Create it with New, run it with
// Run; Set and the queries are safe from any goroutine.
type Router struct {
	opt    Options
	log    hclog.Logger
	kick   chan struct{}
	ready  chan struct{}
	client *http.Client // the probe of the generation

	activity activity

	mu      sync.Mutex
	want    []Site
	wantGen uint64
	setAt   map[uint64]time.Time // when each generation not applied yet was asked for
	applied applied
	changed chan struct{} // closed and replaced at every apply
}

// applied is what the live configuration holds.
type applied struct {
	gen       uint64
	at        time.Time
	took      time.Duration // from Set to the new workers answering
	sites     map[string]Site
	conflicts []string
	certs     map[string]ca.Leaf
	err       error // the last apply's, nil after a good one
	errAt     time.Time
	reloads   int
	added     map[string]time.Duration // per site: the apply that first routed it
}

// New checks the options and returns a Router.
func New(opt Options) (*Router, error) {
	if opt.Validate == nil || opt.Reload == nil || opt.Logger == nil || opt.CA == nil || opt.Dir == "" {
		return nil, errors.New("new router: Validate, Reload, CA, Dir and Logger are required")
	}
	if opt.Hold <= 0 {
		opt.Hold = 30 * time.Second
	}
	r := &Router{
		opt: opt, log: opt.Logger, kick: make(chan struct{}, 1), ready: make(chan struct{}),
		client:  &http.Client{Timeout: 2 * time.Second},
		setAt:   map[uint64]time.Time{},
		changed: make(chan struct{}),
		applied: applied{sites: map[string]Site{}, added: map[string]time.Duration{}},
	}
	r.activity.last = map[string]time.Time{}
	return r, nil
}

// Ready is closed once the first configuration is written (the router's service may start).
func (r *Router) Ready() <-chan struct{} { return r.ready }

// Set gives the router its sites and returns the generation that will hold them. It
// returns at once; Applied waits for that generation.
func (r *Router) Set(sites []Site) uint64 {
	r.mu.Lock()
	r.want = slices.Clone(sites)
	r.wantGen++
	gen := r.wantGen
	r.setAt[gen] = time.Now()
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return gen
}

// Applied waits until the router serves generation gen or a later one.
func (r *Router) Applied(ctx context.Context, gen uint64) error {
	for {
		r.mu.Lock()
		done, err, ch := r.applied.gen >= gen, r.applied.err, r.changed
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("router generation %d: %w (last apply: %v)", gen, ctx.Err(), err)
			}
			return fmt.Errorf("router generation %d: %w", gen, ctx.Err())
		}
	}
}

// renewEvery is how often the leaves are checked besides the changes of the sites.
const renewEvery = 24 * time.Hour

// Run serves the wake endpoint and the access log's socket, writes the first
// configuration, then applies every change until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	if err := r.prepareDir(); err != nil {
		return err
	}
	stop, err := r.listen(ctx)
	if err != nil {
		return err
	}
	defer stop()
	r.apply(ctx, true)
	close(r.ready)
	renew := time.NewTicker(renewEvery)
	defer renew.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-renew.C:
		case <-retry.C:
		}
		if !r.apply(ctx, false) {
			retry.Reset(2 * time.Second) // the service restarting, most likely
		}
	}
}

// prepareDir makes the router's folder, its workers' temporary folders, and removes what a
// previous run left of the sockets.
func (r *Router) prepareDir() error {
	for _, d := range []string{"tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"} {
		p := filepath.Join(r.opt.Dir, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("create router folder: %w", err)
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(p, r.opt.UID, r.opt.GID); err != nil {
				return fmt.Errorf("give %s to the router's workers: %w", p, err)
			}
		}
	}
	if err := os.Chmod(r.opt.Dir, 0o755); err != nil {
		return fmt.Errorf("open router folder to its workers: %w", err)
	}
	for _, s := range []string{WakeSocket, ActivitySocket} {
		_ = os.Remove(filepath.Join(r.opt.Dir, s))
	}
	return nil
}

// LastRequest is when a request for the site last went through the router; zero when none
// did since wpinit started.
func (r *Router) LastRequest(name string) time.Time { return r.activity.lastRequest(name) }

package reconciler

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// A pass with nothing to do spends most of its time listing the containers: with 99 sites
// on the nested engine, 297 containers and 200 kB of JSON, 15 ms when the engine is idle and
// up to 100 ms while it runs their health checks. The listing a pass made is used again by
// the next one when nothing can have changed since it was asked for: the event stream has
// been connected throughout (for settleStream at least before the listing), no event of an
// owned container has arrived, and the reconciler changed no container itself. Every other
// pass, the periodic resync and the retries lists afresh, as does one whose listing is older
// than the resync period. A change the stream does not report (a network connected by hand, a
// paused container) is seen at the next resync, as Kubernetes' informers see theirs.

// settleStream is how long the event stream must have been connected before a listing
// counts as watched: the engine subscribes the stream a little after the request is sent,
// and says nothing when it has.
const settleStream = time.Second

// listingCache is the last container listing and what has happened since. Its methods are
// called from the pass, the event watcher and the instance tasks.
type listingCache struct {
	mu        sync.Mutex
	gen       uint64    // changes seen: events, the reconciler's own changes, the stream's state
	watchedAt time.Time // the stream connected; zero while it is not
	cs        []docker.Container
	csGen     uint64    // gen when cs was asked for
	at        time.Time // when cs was asked for; zero: nothing kept
}

// changed records a change to the owned containers: an event, or a call that made one.
func (c *listingCache) changed() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// watching records the event stream connecting (true) or breaking (false), at now.
func (c *listingCache) watching(on bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.watchedAt = time.Time{}
	if on {
		c.watchedAt = now
	}
}

// begin is the generation a listing starts at, to give to put.
func (c *listingCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps a listing asked for at (gen, at).
func (c *listingCache) put(cs []docker.Container, gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cs, c.csGen, c.at = cs, gen, at
}

// get returns the kept listing and when it was asked for, if nothing can have changed
// since, at now, and it is younger than maxAge. The slice is a copy: the pass's planner and
// the tasks it hands containers to may keep it.
func (c *listingCache) get(now time.Time, maxAge time.Duration) ([]docker.Container, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := !c.at.IsZero() && c.csGen == c.gen && !c.watchedAt.IsZero() && !c.at.Before(c.watchedAt.Add(settleStream)) &&
		now.Sub(c.at) < maxAge
	if !ok {
		return nil, time.Time{}, false
	}
	return slices.Clone(c.cs), c.at, true
}

// containerListing is the containers a pass plans on, when they were asked for, and whether
// they are the kept listing (no request made).
type containerListing struct {
	cs   []docker.Container
	at   time.Time
	kept bool
}

// listContainers is the pass's container listing: the kept one when fresh is false and it
// is still true to the engine (listingCache.get), else one request.
func (r *Reconciler) listContainers(ctx context.Context, fresh bool) (containerListing, error) {
	now := time.Now()
	if !fresh {
		if cs, at, ok := r.listing.get(now, r.opt.Resync); ok {
			return containerListing{cs: cs, at: at, kept: true}, nil
		}
	}
	gen := r.listing.begin()
	cs, err := r.eng.ListContainers(ctx, r.opt.Owner)
	if err != nil {
		return containerListing{at: now}, err
	}
	r.listing.put(slices.Clone(cs), gen, now)
	return containerListing{cs: cs, at: now}, nil
}

// changeCounting is the engine as the reconciler's work uses it: each call that may change
// a container tells the listing cache, once it has returned (a listing asked for meanwhile
// is then not used again).
type changeCounting struct {
	docker.Engine
	changed func()
}

func (e changeCounting) CreateContainer(ctx context.Context, cfg docker.ContainerConfig) (string, error) {
	defer e.changed()
	return e.Engine.CreateContainer(ctx, cfg)
}

func (e changeCounting) StartContainer(ctx context.Context, id string) error {
	defer e.changed()
	return e.Engine.StartContainer(ctx, id)
}

func (e changeCounting) StopContainer(ctx context.Context, id string, timeoutSeconds int) error {
	defer e.changed()
	return e.Engine.StopContainer(ctx, id, timeoutSeconds)
}

func (e changeCounting) RemoveContainer(ctx context.Context, id string) error {
	defer e.changed()
	return e.Engine.RemoveContainer(ctx, id)
}

func (e changeCounting) SignalContainer(ctx context.Context, id, signal string) error {
	defer e.changed()
	return e.Engine.SignalContainer(ctx, id, signal)
}

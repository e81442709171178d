package reconciler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestListingKept: with the event stream watched, a pass after a pass that changed nothing
// uses the last container listing (no GET /containers/json; the networks are still
// listed). An event of an owned container and the stream breaking each make the next pass
// list again, and a kept listing always has the containers the reconciler created itself.
func TestListingKept(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeSites(t, dir, fakeSite{"one", 1, 8001})
	passes := make(chan struct{}, 64)
	r := newFakeReconciler(t, f, dir, func(o *Options) {
		o.Resync = time.Hour // TestListingResync has its own
		o.OnPass = func(PassReport) { passes <- struct{}{} }
	})
	runFake(t, r)
	waitReady(t, r)
	// pass runs one triggered pass and returns how many times it listed containers and
	// networks.
	pass := func() (containers, networks int) {
		t.Helper()
		for len(passes) > 0 {
			<-passes
		}
		f.Calls()
		r.Trigger("test")
		select {
		case <-passes:
		case <-time.After(10 * time.Second):
			t.Fatal("no pass in 10 s")
		}
		_, by := f.Calls()
		return by["GET /containers/json"], by["GET /networks"]
	}
	testutil.WaitFor(t, 10*time.Second, "a pass that keeps the listing", func() bool {
		c, _ := pass()
		return c == 0
	})
	if c, n := pass(); c != 0 || n != 1 {
		t.Errorf("a pass after one that changed nothing listed containers %d times and networks %d times, want 0 and 1", c, n)
	}

	f.Event("one-php", "health_status: unhealthy")
	testutil.WaitFor(t, 10*time.Second, "the event seen", func() bool { return r.instanceState("one").Health == HealthUnhealthy })
	if c, _ := pass(); c != 1 {
		t.Errorf("the pass after an event listed containers %d times, want 1", c)
	}

	// The fake engine sends no event for what the reconciler does: only its own count of
	// its changes keeps a pass from planning on a listing without them (and creating the
	// new site's containers a second time).
	writeSites(t, dir, fakeSite{"one", 1, 8001}, fakeSite{"two", 2, 8002})
	testutil.WaitFor(t, 10*time.Second, "two running", func() bool { return r.instanceState("two").State == StateRunning })
	if cs, _, ok := r.listing.get(time.Now(), time.Hour); ok && !slices.ContainsFunc(cs, func(c docker.Container) bool { return c.Name == "two-web" }) {
		t.Error("the kept listing leaves out two-web, which the reconciler created")
	}
	pass()
	pass()
	for _, c := range []string{"two-db", "two-php", "two-web"} {
		if n := countOf(f.Order(), "create "+c); n != 1 {
			t.Errorf("%s created %d times, want once", c, n)
		}
	}
	if st := r.instanceState("two"); st.State != StateRunning || st.LastError != "" {
		t.Errorf("two after two more passes: %+v", st)
	}

	// The stream breaks: nothing is kept until it is back and has settled.
	testutil.WaitFor(t, 10*time.Second, "a kept listing again", func() bool {
		c, _ := pass()
		return c == 0
	})
	f.mu.Lock()
	close(f.broken)
	f.broken = make(chan struct{})
	f.mu.Unlock()
	testutil.WaitFor(t, 10*time.Second, "a listing asked for after the stream broke", func() bool {
		c, _ := pass()
		return c == 1
	})
}

// TestListingResync: a change the engine reports in no event (here a container removed
// behind its back, with no destroy event) is repaired at the resync, which always lists,
// while the passes in between keep their listing.
func TestListingResync(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeSites(t, dir, fakeSite{"one", 1, 8001})
	r := newFakeReconciler(t, f, dir, func(o *Options) { o.Resync = 2 * time.Second })
	runFake(t, r)
	waitReady(t, r)
	time.Sleep(settleStream)
	old := f.Container("one-web").ID
	f.RemoveByName("one-web")
	removed := time.Now()
	testutil.WaitFor(t, 10*time.Second, "one-web recreated", func() bool {
		r.Trigger("test") // passes that may keep their listing, meanwhile
		c := f.Container("one-web")
		return c != nil && c.ID != old && c.State == "running"
	})
	t.Logf("recreated %.1f s after its silent removal (resync 2 s)", time.Since(removed).Seconds())
}

func countOf(list []string, s string) int {
	return len(slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x != s }))
}

// TestListingCacheGet: the rules of listingCache.get, on its own clock.
func TestListingCacheGet(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	cs := []docker.Container{{ID: "a", Name: "one-db"}}
	listed := t0.Add(2 * time.Second)
	// watchedAndListed: the stream connected at t0, then a listing kept at at.
	watchedAndListed := func(c *listingCache, at time.Time) {
		c.watching(true, t0)
		c.put(cs, c.begin(), at)
	}
	later := t0.Add(5 * time.Second)
	tests := []struct {
		name string
		play func(c *listingCache)
		now  time.Time
		want bool
	}{
		{"nothing listed", func(c *listingCache) { c.watching(true, t0) }, later, false},
		{"listed while watched", func(c *listingCache) { watchedAndListed(c, listed) }, later, true},
		{"listed before the stream settled", func(c *listingCache) { watchedAndListed(c, t0.Add(settleStream/2)) }, later, false},
		{"never watched", func(c *listingCache) { c.put(cs, c.begin(), listed) }, later, false},
		{"a change during the listing", func(c *listingCache) {
			c.watching(true, t0)
			g := c.begin()
			c.changed()
			c.put(cs, g, listed)
		}, later, false},
		{"a change after it", func(c *listingCache) { watchedAndListed(c, listed); c.changed() }, later, false},
		{"the stream broke after it", func(c *listingCache) {
			watchedAndListed(c, listed)
			c.watching(false, t0.Add(3*time.Second))
		}, later, false},
		{"the stream reconnected after it", func(c *listingCache) {
			watchedAndListed(c, listed)
			c.watching(false, t0.Add(3*time.Second))
			c.watching(true, t0.Add(4*time.Second))
		}, later, false},
		{"older than the resync", func(c *listingCache) { watchedAndListed(c, listed) }, listed.Add(time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			c := &listingCache{}
			tt.play(c)
			got, at, ok := c.get(tt.now, time.Minute)
			if ok != tt.want {
				t.Fatalf("kept = %v, want %v", ok, tt.want)
			}
			if ok && (len(got) != 1 || got[0].ID != "a" || !at.Equal(listed)) {
				t.Errorf("got %+v at %s", got, at)
			}
			if ok {
				got[0].ID = "changed by the caller"
				if again, _, _ := c.get(tt.now, time.Minute); again[0].ID != "a" {
					t.Error("the caller changed the kept listing")
				}
			}
		})
	}
}

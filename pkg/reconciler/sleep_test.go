package reconciler

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// fakeRoutes records what the reconciler tells the router.
type fakeRoutes struct {
	mu   sync.Mutex
	gen  uint64
	last []Route
	seen map[string]time.Time
}

func (f *fakeRoutes) Set(routes []Route) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	f.last = routes
	return f.gen
}

func (f *fakeRoutes) Applied(context.Context, uint64) error { return nil }

func (f *fakeRoutes) LastRequest(name string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[name]
}

func (f *fakeRoutes) serving(name string) (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.last {
		if r.Name == name {
			return r.Serving, true
		}
	}
	return false, false
}

func (f *fakeRoutes) request(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[name] = time.Now()
}

func stateOf(r *Reconciler, name string) string {
	for _, i := range r.Status().Instances {
		if i.Name == name {
			return i.State + "/" + i.Health
		}
	}
	return ""
}

// TestSleepAndWake: a site idle for its sleep_after has its PHP and database stopped, is
// told to the router as not serving, stays asleep across passes, and an export wakes it;
// a site without sleep_after, and one with requests through the router, stay up.
func TestSleepAndWake(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	var b []byte
	for i, after := range []string{"10s", "", "10s"} {
		b = fmt.Appendf(b, "[[instance]]\nname = \"site-%d\"\nid = %d\nport = %d\n", i+1, i+1, 8000+i)
		if after != "" {
			b = fmt.Appendf(b, "sleep_after = %q\n", after)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "instances.toml"), append([]byte("version = 1\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	routes := &fakeRoutes{seen: map[string]time.Time{}}
	r := newFakeReconciler(t, f, dir, func(o *Options) { o.Routes = routes })
	runFake(t, r)
	waitReady(t, r)
	// The routes are told when each instance's convergence finishes, which can come after
	// ready: wait for it.
	testutil.WaitFor(t, 10*time.Second, "site-1 told to the router as serving", func() bool {
		s, ok := routes.serving("site-1")
		return ok && s
	})
	stop := make(chan struct{})
	go func() { // site-3 is in use through the router all along
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				routes.request("site-3")
			}
		}
	}()
	defer close(stop)
	testutil.WaitFor(t, 30*time.Second, "site-1 asleep", func() bool {
		return stateOf(r, "site-1") == StateSleeping+"/"+HealthSleeping && f.Container("site-1-db").State == "exited"
	})
	if got := []string{f.Container("site-1-php").State, f.Container("site-1-web").State}; got[0] != "exited" || got[1] != "running" {
		t.Errorf("asleep: php %s, web %s; want exited, running", got[0], got[1])
	}
	if s, _ := routes.serving("site-1"); s {
		t.Error("site-1 asleep, but told to the router as serving")
	}
	for _, n := range []string{"site-2", "site-3"} {
		if st := stateOf(r, n); st != StateRunning+"/"+HealthHealthy {
			t.Errorf("%s is %s, want running", n, st)
		}
	}
	before := r.Status().LastPass
	r.Trigger("test") // what a die event or a resync does: a pass, which leaves it asleep
	testutil.WaitFor(t, 10*time.Second, "a pass", func() bool { return r.Status().LastPass.After(before) })
	if st := stateOf(r, "site-1"); st != StateSleeping+"/"+HealthSleeping || f.Container("site-1-db").State != "exited" {
		t.Fatalf("a pass woke site-1: %s, db %s", st, f.Container("site-1-db").State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	// An export needs the database: it wakes the site, as a backup, a snapshot or an import do.
	if _, err := r.DBExport(ctx, "site-1", io.Discard); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(r, "site-1"); st[:len(StateRunning)] != StateRunning || f.Container("site-1-db").State != "running" {
		t.Errorf("after Wake: %s, db %s", st, f.Container("site-1-db").State)
	}
	if s, _ := routes.serving("site-1"); !s {
		t.Error("site-1 awake, but not told to the router as serving")
	}
	t.Logf("woken in %s", time.Since(start).Round(time.Millisecond))
}

package reconciler

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// fakeSite is an instance of the scheduling tests' files.
type fakeSite struct {
	name     string
	id, port int
}

func writeSites(t *testing.T, dir string, sites ...fakeSite) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version = 1\n")
	for _, s := range sites {
		fmt.Fprintf(&b, "[[instance]]\nname = %q\nid = %d\nport = %d\n", s.name, s.id, s.port)
	}
	if err := os.WriteFile(filepath.Join(dir, "instances.toml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runServed runs a reconciler, until the test ends, over a fake engine where the instance
// "served" (id 1, port 8001) has converged; dir holds its instances.toml.
func runServed(t *testing.T, tweak ...func(*Options)) (*fakeDocker, string, *Reconciler) {
	t.Helper()
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeSites(t, dir, fakeSite{"served", 1, 8001})
	r := newFakeReconciler(t, f, dir, tweak...)
	runFake(t, r)
	waitReady(t, r)
	return f, dir, r
}

// serving reports whether the fake engine runs every container of the instance called name.
func (f *fakeDocker) serving(name string) bool {
	for _, r := range instance.Roles {
		if _, state := f.State(instance.ContainerName(name, r)); state != "running" {
			return false
		}
	}
	return true
}

// State is the ID and state of the container called name ("" when there is none), read
// under the fake's lock: the reconciler changes them meanwhile.
func (f *fakeDocker) State(name string) (id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.Name == name {
			return c.ID, c.State
		}
	}
	return "", ""
}

// TestRenameWaitsForRemoval: renaming an instance while keeping its id and port creates the
// new instance's containers only once the old ones are removed (the fake engine, like
// dockerd, refuses to start a container on an address a running one holds), and the new
// instance converges with no failure on the way.
func TestRenameWaitsForRemoval(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeSites(t, dir, fakeSite{"old", 3, 8003})
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(context.Background())
	if !f.serving("old") {
		t.Fatal("old not converged")
	}
	writeSites(t, dir, fakeSite{"renamed", 3, 8003})
	r.ReconcileOnce(context.Background())
	order := f.Order()
	firstNew := slices.Index(order, "create renamed-db")
	for _, role := range instance.Roles {
		removed := slices.Index(order, "remove old-"+string(role))
		if removed < 0 || firstNew < 0 || removed > firstNew {
			t.Errorf("old-%s removed at step %d, renamed-db created at %d: %v", role, removed, firstNew, order)
		}
	}
	if st := r.instanceState("renamed"); st.State != StateRunning || st.LastError != "" || !f.serving("renamed") {
		t.Errorf("renamed: %+v", st)
	}
}

// TestRepairsDoNotWaitForFirstStarts: with one slot per lane, a serving instance whose
// container was removed is repaired while a new instance holds the other lane's slot, stuck
// on a database that never turns healthy (its deadline is a minute away).
func TestRepairsDoNotWaitForFirstStarts(t *testing.T) {
	f, dir, r := runServed(t, func(o *Options) { o.Parallelism, o.Timeouts.Healthy = 1, time.Minute })
	f.SetUnhealthy("slow-db", true)
	writeSites(t, dir, fakeSite{"served", 1, 8001}, fakeSite{"slow", 2, 8002})
	testutil.WaitFor(t, 10*time.Second, "slow converging on its database", func() bool {
		_, state := f.State("slow-db")
		return state == "running" && r.instanceState("slow").State == StateConverging
	})
	old, _ := f.State("served-web")
	f.Event("served-web", "destroy")
	f.RemoveByName("served-web")
	testutil.WaitFor(t, 10*time.Second, "served repaired beside slow", func() bool {
		id, _ := f.State("served-web")
		return id != old && f.serving("served") && r.instanceState("served").State == StateRunning
	})
	if st := r.instanceState("slow"); st.State != StateConverging {
		t.Errorf("slow is %s, want still converging (%s)", st.State, st.LastError)
	}
}

// TestEngineReturnReplans: dockerd restarts while a new instance waits for its PHP container
// to turn healthy: every container died with dockerd and no event said so. Once the engine
// answers again, the wait is cancelled and the instance planned again (its containers
// started again), and the serving instance is repaired, without installing again; neither
// waits out the health deadline of the container that died (a minute away).
func TestEngineReturnReplans(t *testing.T) {
	f, dir, r := runServed(t, func(o *Options) { o.Timeouts.Healthy = time.Minute })
	f.SetUnhealthy("fresh-php", true)
	writeSites(t, dir, fakeSite{"served", 1, 8001}, fakeSite{"fresh", 2, 8002})
	testutil.WaitFor(t, 10*time.Second, "fresh waiting on its PHP container", func() bool {
		_, state := f.State("fresh-php")
		return state == "running"
	})
	f.RestartEngine()
	f.SetUnhealthy("fresh-php", false) // what a start after dockerd's return brings
	restarted := time.Now()
	testutil.WaitFor(t, 15*time.Second, "both instances running again", func() bool {
		return f.serving("served") && f.serving("fresh") &&
			r.instanceState("served").State == StateRunning && r.instanceState("fresh").State == StateRunning
	})
	t.Logf("both serve again %.1f s after the engine restarted", time.Since(restarted).Seconds())
	if st := r.instanceState("fresh"); st.LastError != "" {
		t.Errorf("fresh failed on the way: %s (a cancelled task is no failure)", st.LastError)
	}
	// A site that answers once its containers are back is installed: the repair skips the
	// install, the slowest step on a busy machine.
	if n := f.Installs("served"); n != 1 {
		t.Errorf("wp-dind-install ran %d times for served, want once (its first convergence)", n)
	}
}

// TestStoppedWhileWaitingReplans: a new instance's PHP container stops (by hand, or by its
// own crash) while the reconciler waits for it to turn healthy. The wait ends at the engine's
// refusal to exec into a stopped container, and the retry starts the container again, rather
// than asking until the health deadline (a minute away).
func TestStoppedWhileWaitingReplans(t *testing.T) {
	f, dir, r := runServed(t, func(o *Options) { o.Timeouts.Healthy = time.Minute })
	f.SetUnhealthy("fresh-php", true)
	stopped := false
	f.onExec = func(c *fakeContainer, cmd []string) {
		if c.Name != "fresh-php" || len(cmd) == 0 || cmd[0] != "wp-dind-health" {
			return
		}
		if !stopped { // this check fails, and the container stops under the next one
			c.State, stopped = "exited", true
			return
		}
		delete(f.unhealthy, c.Name) // started again: what a fresh start brings
	}
	writeSites(t, dir, fakeSite{"served", 1, 8001}, fakeSite{"fresh", 2, 8002})
	began := time.Now()
	testutil.WaitFor(t, 20*time.Second, "fresh running after its PHP container stopped", func() bool {
		return f.serving("fresh") && r.instanceState("fresh").State == StateRunning
	})
	t.Logf("fresh serves %.1f s after it was declared", time.Since(began).Seconds())
}

// TestAddressInUseRetriedSoon: a start refused because another container still holds the
// address is retried about a second later, by the reconciler's own timer, not after the
// usual 5 s backoff or at the next resync.
func TestAddressInUseRetriedSoon(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeSites(t, dir, fakeSite{"site", 1, 8001})
	r := newFakeReconciler(t, f, dir)
	netw := r.opt.Network.Instance(1)
	ip := netw.IP(instance.RoleDB)
	f.mu.Lock()
	f.containers["intruder"] = &fakeContainer{ID: "intruder", Name: "intruder", State: "running", Create: container.CreateRequest{
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netw.Name: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(ip)}},
		}},
	}}
	f.mu.Unlock()
	runFake(t, r)
	testutil.WaitFor(t, 10*time.Second, "the address conflict", func() bool {
		return strings.Contains(r.instanceState("site").LastError, "Address already in use")
	})
	f.RemoveByName("intruder")
	freed := time.Now()
	testutil.WaitFor(t, 10*time.Second, "site running", func() bool { return r.instanceState("site").State == StateRunning })
	if took := time.Since(freed); took > 3*time.Second {
		t.Errorf("retried %.1f s after the address was freed, want within about a second", took.Seconds())
	}
}

// TestRepairsGoFirst: a new instance declared while a serving instance is repaired creates
// nothing until the repair has ended (repairsFirst is far away), then converges.
func TestRepairsGoFirst(t *testing.T) {
	f, dir, r := runServed(t)
	f.SetUnhealthy("served-db", true)
	f.Event("served-db", "destroy")
	f.RemoveByName("served-db")
	testutil.WaitFor(t, 10*time.Second, "the repair of served, stuck on its new database", func() bool {
		_, state := f.State("served-db")
		return state == "running" && r.instanceState("served").State == StateConverging
	})
	writeSites(t, dir, fakeSite{"served", 1, 8001}, fakeSite{"fresh", 2, 8002})
	testutil.WaitFor(t, 10*time.Second, "fresh dispatched", func() bool {
		st := r.instanceState("fresh").State
		return st == StateConverging || st == StateRunning
	})
	if err := testutil.Poll(time.Second, func() bool { id, _ := f.State("fresh-db"); return id != "" }); err == nil {
		t.Error("fresh created its database while served was being repaired")
	}
	f.SetUnhealthy("served-db", false)
	testutil.WaitFor(t, 10*time.Second, "both running", func() bool {
		return r.instanceState("served").State == StateRunning && r.instanceState("fresh").State == StateRunning
	})
}

package reconciler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// writeInstances writes an instances.toml declaring n instances, ids 1..n, ports 8000+.
func writeInstances(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version = 1\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "[[instance]]\nname = \"site-%d\"\nid = %d\nport = %d\n", i, i, 7999+i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newFakeReconciler is a reconciler over the fake engine, with the test's options (tweak
// changes them before New).
func newFakeReconciler(t *testing.T, f *fakeDocker, dir string, tweak ...func(*Options)) *Reconciler {
	t.Helper()
	eng, err := docker.Connect(context.Background(), f.Host())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	opt := testOptions(t, filepath.Join(dir, "instances.toml"), filepath.Join(dir, "root"))
	opt.Owner, opt.Parallelism = "fake-"+t.Name(), 8
	for _, fn := range tweak {
		fn(&opt)
	}
	r, err := New(eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The fake engine publishes no port: it answers the site check itself (SiteAnswers).
	r.work.probe = func(_ context.Context, _, host string) error { return f.SiteAnswers(host) }
	return r
}

// TestNoopReconcileConstantCalls: a pass over instances that are in shape costs the same
// number of Docker requests for 1, 10 and 100 instances, both for a reconciler that just
// converged them and for a fresh one (wpinit restarted) that finds them running.
func TestNoopReconcileConstantCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	counts := map[int][2]int{}
	for _, n := range []int{1, 10, 100} {
		f := newFakeDocker(t)
		dir := t.TempDir()
		writeInstances(t, filepath.Join(dir, "instances.toml"), n)
		r := newFakeReconciler(t, f, dir)
		r.ReconcileOnce(ctx)
		if created, _ := f.Calls(); created < 3*n {
			t.Fatalf("n=%d: first pass made only %d calls", n, created)
		}
		for _, st := range r.Status().Instances {
			if st.State != StateRunning {
				t.Fatalf("n=%d: %s is %s: %s", n, st.Name, st.State, st.LastError)
			}
		}
		r.ReconcileOnce(ctx)
		same, by := f.Calls()
		fresh := newFakeReconciler(t, f, dir)
		fresh.ReconcileOnce(ctx)
		restarted, byFresh := f.Calls()
		t.Logf("n=%d: no-op pass %d calls %v; fresh reconciler %d calls %v", n, same, by, restarted, byFresh)
		counts[n] = [2]int{same, restarted}
	}
	if counts[1] != counts[10] || counts[10] != counts[100] {
		t.Fatalf("no-op cost depends on the number of instances: %v", counts)
	}
	if counts[1][0] != 2 {
		t.Errorf("a no-op pass should be one container list and one network list, got %d calls", counts[1][0])
	}
}

// TestFakeRepairsOnlyWhatDrifted: a container removed behind wpinit's back is recreated, and
// nothing else is touched; the create requests carry what the design says.
func TestFakeRepairsOnlyWhatDrifted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 2)
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(ctx)
	web := f.Container("site-1-web")
	db := f.Container("site-1-db")
	if web == nil || db == nil {
		t.Fatal("containers not created")
	}
	if b := web.Create.HostConfig.PortBindings; len(b) != 1 {
		t.Errorf("web port bindings = %v", b)
	} else {
		for p, hb := range b {
			if p.Num() != 80 || hb[0].HostIP.String() != "127.0.0.1" || hb[0].HostPort != "8000" {
				t.Errorf("web publishes %v -> %+v", p, hb)
			}
		}
	}
	if len(db.Create.HostConfig.PortBindings) != 0 {
		t.Error("the database must publish no port")
	}
	if ip := db.Create.NetworkingConfig.EndpointsConfig["wp-network-1"].IPAMConfig.IPv4Address.String(); ip != "172.20.1.2" {
		t.Errorf("db address = %s", ip)
	}
	before := map[string]string{}
	for _, n := range []string{"site-1-db", "site-1-php", "site-2-db", "site-2-php", "site-2-web"} {
		before[n] = f.Container(n).ID
	}
	f.RemoveByName("site-1-web")
	r.ReconcileOnce(ctx)
	if f.Container("site-1-web") == nil {
		t.Fatal("removed container not recreated")
	}
	for n, id := range before {
		if got := f.Container(n).ID; got != id {
			t.Errorf("%s was recreated (%s -> %s)", n, id, got)
		}
	}
}

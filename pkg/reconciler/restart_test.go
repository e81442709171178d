package reconciler

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestRestartJobOnFakeEngine: Restart stops the three containers and starts them again in
// start order (nothing recreated), the site is probed, and its latency shows in the status.
func TestRestartJobOnFakeEngine(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	r := newFakeReconciler(t, f, dir)
	r.work.probe = func(context.Context, string, string) error { time.Sleep(3 * time.Millisecond); return nil }
	runFake(t, r)
	waitReady(t, r)
	ids := []string{f.Container("site-1-db").ID, f.Container("site-1-php").ID, f.Container("site-1-web").ID}
	f.Calls() // resets the counts
	res, err := r.Restart(context.Background(), "site-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"site-1-db", "site-1-php", "site-1-web"}; !slices.Equal(res.Containers, want) {
		t.Errorf("started %q, want %q", res.Containers, want)
	}
	_, calls := f.Calls()
	for _, route := range []string{"POST /containers/{id}/stop", "POST /containers/{id}/start"} {
		if n := calls[route]; n != 3 {
			t.Errorf("%s: %d calls, want 3", route, n)
		}
	}
	if n := calls["POST /containers/create"]; n != 0 {
		t.Errorf("a restart created %d containers", n)
	}
	for i, name := range []string{"site-1-db", "site-1-php", "site-1-web"} {
		if f.Container(name).ID != ids[i] {
			t.Errorf("%s was recreated", name)
		}
	}
	testutil.WaitFor(t, 5*time.Second, "running with a probe latency", func() bool {
		st := r.Status()
		return len(st.Instances) == 1 && st.Instances[0].State == StateRunning && st.Instances[0].ProbeLatency >= 3*time.Millisecond
	})
	if _, err := r.Restart(context.Background(), "nope"); !errors.Is(err, ErrNoInstance) {
		t.Errorf("restart of an unknown instance: %v", err)
	}
}

// TestOnPassReportsActions: the hook sees every pass, with the plan's actions by kind.
func TestOnPassReportsActions(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	var reports []PassReport
	r := newFakeReconciler(t, f, dir, func(o *Options) { o.OnPass = func(p PassReport) { reports = append(reports, p) } })
	r.ReconcileOnce(context.Background())
	n := len(reports)
	if n == 0 || reports[0].Actions["create"] != 3 || reports[0].Actions["network-create"] == 0 || reports[0].Duration <= 0 {
		t.Fatalf("first pass: %+v", reports)
	}
	r.ReconcileOnce(context.Background())
	if len(reports) != n+1 || len(reports[n].Actions) != 0 {
		t.Errorf("a pass with nothing to do: %+v", reports[n:])
	}
}

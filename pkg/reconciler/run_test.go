package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// runFake runs r until the test ends.
func runFake(t *testing.T, r *Reconciler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitReady(t *testing.T, r *Reconciler) {
	t.Helper()
	select {
	case <-r.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("not ready after 30 s")
	}
}

// TestRunLifecycle: the gate holds the first pass; a bad file keeps everything and shows its
// line; removing an instance removes its containers and archives its folder; Purge deletes it.
func TestRunLifecycle(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "instances.toml")
	writeInstances(t, file, 2)
	gate := make(chan struct{})
	r := newFakeReconciler(t, f, dir, func(o *Options) { o.Gate = gate })
	runFake(t, r)
	gate <- struct{}{} // an unbuffered send: it returns once Run has taken the gate
	opened := time.Now()
	waitReady(t, r)
	if first := f.FirstCall(); first.Before(opened) {
		t.Fatalf("a Docker request at %s, before the gate opened at %s", first.Format(time.StampMicro), opened.Format(time.StampMicro))
	}
	ids := map[string]string{}
	for _, n := range []string{"site-1-db", "site-1-php", "site-1-web", "site-2-db"} {
		if c := f.Container(n); c == nil || c.State != "running" {
			t.Fatalf("%s not running: %+v", n, c)
		}
		ids[n] = f.Container(n).ID
	}

	if err := os.WriteFile(file, []byte("version = 1\n[[instance]]\nname = \"site-1\"\nid = 1\nbogus = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "file error in status", func() bool { return r.Status().FileError != "" })
	if st := r.Status(); !strings.Contains(st.FileError, "instances.toml:5: instance[0].bogus: unknown key") {
		t.Errorf("file error = %q", st.FileError)
	}
	for n, id := range ids {
		if c := f.Container(n); c == nil || c.ID != id {
			t.Errorf("bad file changed %s", n)
		}
	}

	writeInstances(t, file, 1)
	testutil.WaitFor(t, 10*time.Second, "site-2 removed", func() bool {
		return f.Container("site-2-db") == nil && len(r.Status().Archived) == 1 && r.Status().FileError == ""
	})
	if c := f.Container("site-1-db"); c == nil || c.ID != ids["site-1-db"] {
		t.Error("site-1 touched while site-2 was removed")
	}
	if _, err := os.Stat(filepath.Join(dir, "root", "site-2")); !os.IsNotExist(err) {
		t.Errorf("site-2 folder still live: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, "wp-network-2 removed", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, n := range f.networks {
			if n.Name == r.opt.Network.Instance(2).Name {
				return false
			}
		}
		return true
	})
	if list, err := r.Purge("site-2"); err != nil || len(list) != 1 {
		t.Fatalf("purge: %v %v", list, err)
	}
	if len(r.Status().Archived) != 0 {
		t.Error("archive still listed after purge")
	}
}

// TestBadFileAtBootRemovesNothing: with no good file ever loaded, nothing is removed.
func TestBadFileAtBootRemovesNothing(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	first := newFakeReconciler(t, f, dir)
	first.ReconcileOnce(context.Background())
	id := f.Container("site-1-db").ID
	if err := os.WriteFile(filepath.Join(dir, "instances.toml"), []byte("version = 1\n[[instance]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newFakeReconciler(t, f, dir)
	runFake(t, r)
	waitReady(t, r)
	if c := f.Container("site-1-db"); c == nil || c.ID != id {
		t.Fatal("a bad file at boot removed an instance")
	}
	if r.Status().FileError == "" {
		t.Error("no file error in status")
	}
}

// TestMissingImageNamesItsSource: an instance whose image is not loaded fails alone, and the
// error says how to get the image; its neighbour converges.
func TestMissingImageNamesItsSource(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	src := "version = 1\n[[instance]]\nname = \"ok\"\nid = 1\n[[instance]]\nname = \"old\"\nid = 2\nphp = \"8.1\"\n"
	if err := os.WriteFile(filepath.Join(dir, "instances.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(context.Background())
	if st := r.instanceState("ok"); st.State != StateRunning {
		t.Errorf("ok is %s: %s", st.State, st.LastError)
	}
	st := r.instanceState("old")
	if st.State != StateFailed || !strings.Contains(st.LastError, "image wp-php:8.1 is not loaded") || !strings.Contains(st.LastError, "/shared-images/wp-php-8.1.tar") {
		t.Errorf("old = %s: %s", st.State, st.LastError)
	}
	if f.Container("old-php") != nil {
		t.Error("a container was created without its image")
	}
}

// TestAssignedSlotsPersist: an instance that omits id and port keeps what it was given, even
// when an instance declared before it appears later in the file.
func TestAssignedSlotsPersist(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "instances.toml")
	if err := os.WriteFile(file, []byte("version = 1\n[[instance]]\nname = \"late\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(context.Background())
	info, err := instance.ReadInfo(r.layout("late"))
	if err != nil || info.ID != 1 || info.Port != 8000 {
		t.Fatalf("assigned = %+v, %v", info, err)
	}
	webID := f.Container("late-web").ID
	if err := os.WriteFile(file, []byte("version = 1\n[[instance]]\nname = \"early\"\n[[instance]]\nname = \"late\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.ReconcileOnce(context.Background())
	d, err := r.Detail("late", false)
	if err != nil || d.ID != 1 || d.Port != 8000 {
		t.Errorf("late moved to %d/%d: %v", d.ID, d.Port, err)
	}
	if e, _ := r.Detail("early", false); e.ID != 2 || e.Port != 8001 {
		t.Errorf("early got %d/%d", e.ID, e.Port)
	}
	if f.Container("late-web").ID != webID {
		t.Error("late was recreated")
	}
}

// TestEventsFeedStatus: the status follows the containers through the events, with no
// Docker call and no pass asked for but by a die. An instance whose containers are still
// starting their health checks is healthy once its site answered; a container restarted
// behind the reconciler's back makes it starting until its check passes; a container that
// dies makes it down at once, and asks for a pass. The event watcher runs alone here, after
// a pass that converged the instance.
func TestEventsFeedStatus(t *testing.T) {
	f := newFakeDocker(t)
	f.health = "starting"
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	r := newFakeReconciler(t, f, dir)
	ctx, cancel := context.WithCancel(context.Background())
	r.ReconcileOnce(ctx)
	if st := r.instanceState("site-1"); st.State != StateRunning || st.Health != HealthHealthy {
		t.Fatalf("after the pass: %+v, want running and healthy (the site answered)", st)
	}
	r.takeReasons()
	f.Calls()
	watching := make(chan struct{})
	go func() { defer close(watching); r.watchEvents(ctx) }()
	t.Cleanup(func() { cancel(); <-watching })
	testutil.WaitFor(t, 10*time.Second, "the event stream", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.eventKinds != nil
	})
	f.mu.Lock()
	kinds := f.eventKinds
	f.mu.Unlock()
	for _, k := range []string{"start", "die", "destroy", "health_status"} {
		if !slices.Contains(kinds, k) {
			t.Fatalf("event filter %v leaves out %s", kinds, k)
		}
	}
	health := func(want string) {
		t.Helper()
		testutil.WaitFor(t, 10*time.Second, "health "+want, func() bool { return r.instanceState("site-1").Health == want })
	}
	f.Event("site-1-web", "start")
	health(HealthStarting)
	for _, role := range []string{"db", "php", "web"} {
		f.Event("site-1-"+role, "health_status: healthy")
	}
	health(HealthHealthy)
	f.Event("site-1-php", "die")
	health(HealthDown)
	var reasons []string
	testutil.WaitFor(t, 10*time.Second, "the die event's trigger", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		reasons = slices.Clone(r.reasons)
		return slices.ContainsFunc(reasons, func(s string) bool { return strings.Contains(s, "die") })
	})
	if len(reasons) != 1 {
		t.Errorf("triggers %q: start and health events must ask for no pass", reasons)
	}
	r.mu.Lock()
	ready := r.inst["site-1"].ready
	r.mu.Unlock()
	if ready {
		t.Error("still known to serve after a container died: the next pass would not ask the site")
	}
	if n, by := f.Calls(); n != 0 {
		t.Errorf("the events made %d Docker calls %v, want none", n, by)
	}
}

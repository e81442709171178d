package reconciler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestHoldingJobKeepsPassesOff: while a holding job runs on an instance, passes neither
// prepare nor converge it (a changed declaration waits), other instances go on, and the
// instance converges to the change once the job ends.
func TestHoldingJobKeepsPassesOff(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "instances.toml")
	writeInstances(t, file, 2)
	r := newFakeReconciler(t, f, dir, func(o *Options) { o.Debounce = 20 * time.Millisecond })
	runFake(t, r)
	waitReady(t, r)
	php := f.Container("site-1-php").ID

	started, release := make(chan struct{}), make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- r.runJob(context.Background(), &job{name: "site-1", what: "test", hold: true,
			fn: func(ctx context.Context, in config.Instance) (outcome, error) {
				close(started)
				<-release
				return outcome{}, nil
			}})
	}()
	<-started
	src := "version = 1\n[[instance]]\nname = \"site-1\"\nid = 1\nport = 8000\nphp = \"7.4\"\n[[instance]]\nname = \"site-2\"\nid = 2\nport = 8001\nphp = \"7.4\"\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "site-2 on PHP 7.4", func() bool {
		c := f.Container("site-2-php")
		return c != nil && c.Create.Config != nil && c.Create.Config.Image == "wp-php:7.4"
	})
	if c := f.Container("site-1-php"); c == nil || c.ID != php {
		t.Fatal("a held instance was converged")
	}
	if _, err := os.Stat(filepath.Join(dir, "root", "site-1", "config", "php-7.4")); !os.IsNotExist(err) {
		t.Fatalf("a held instance was prepared: %v", err)
	}
	close(release)
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "site-1 on PHP 7.4 after the job", func() bool {
		c := f.Container("site-1-php")
		return c != nil && c.ID != php && c.Create.Config.Image == "wp-php:7.4"
	})
}

// TestBackupJobOnFakeEngine: Backup runs through the loop as the instance's worker and
// writes an archive (the fake engine's exec answers "ok"); unknown instances and a stopped
// reconciler are refused.
func TestBackupJobOnFakeEngine(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	r := newFakeReconciler(t, f, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitReady(t, r)
	res, err := r.Backup(context.Background(), "site-1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := backup.Stage(context.Background(), res.Path, "site-1", t.TempDir(), backup.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cleanup()
	if dump, _ := os.ReadFile(s.DumpPath); string(dump) != "ok\n" {
		t.Errorf("dump = %q", dump)
	}
	if _, err := r.Backup(context.Background(), "nope"); !errors.Is(err, ErrNoInstance) {
		t.Errorf("backup of an unknown instance: %v", err)
	}
	if _, err := r.Restore(context.Background(), "site-1", "missing.tar.gz"); err == nil {
		t.Error("restore of a missing file succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := r.Backup(context.Background(), "site-1"); !errors.Is(err, ErrStopping) {
		t.Errorf("backup after stop: %v", err)
	}
}

// TestOnInstancesOnlyOnChange: the hook runs after the first pass and when the declared
// instances change, not on passes that change nothing.
func TestOnInstancesOnlyOnChange(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "instances.toml")
	writeInstances(t, file, 0)
	var calls [][]string
	r := newFakeReconciler(t, f, dir, func(o *Options) {
		o.OnInstances = func(ins []config.Instance) {
			var names []string
			for _, in := range ins {
				names = append(names, in.Name+"@"+o.Network.Instance(in.ID).IP(instance.RoleDB))
			}
			calls = append(calls, names)
		}
	})
	ctx := context.Background()
	r.ReconcileOnce(ctx)
	r.ReconcileOnce(ctx)
	writeInstances(t, file, 2)
	r.ReconcileOnce(ctx)
	r.ReconcileOnce(ctx)
	writeInstances(t, file, 1)
	r.ReconcileOnce(ctx)
	if len(calls) != 3 || len(calls[0]) != 0 || len(calls[1]) != 2 || calls[1][1] != "site-2@172.20.2.2" || len(calls[2]) != 1 {
		t.Errorf("calls = %q", calls)
	}
}

package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestMakeTemplateKeepsDatabase: the template job on the first site of a kind never stops its
// database. With mariadb-backup the template is a hot copy; an image without it (wp-mariadb:10.5)
// makes no template, and the kind's sites install themselves, as MySQL's do: the cold copy
// stopped the site's database just after it first served, and the die sent it back to
// converging once the job ended (dashboard-test's "dash-1 is converging", on MariaDB 10.5).
func TestMakeTemplateKeepsDatabase(t *testing.T) {
	for _, tc := range []struct {
		name         string
		backupExit   int // of hotBackupCmd: 90 is an image without mariadb-backup
		wantTemplate bool
	}{
		{"mariadb-backup", 0, true},
		{"no mariadb-backup", noHotBackup, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDocker(t)
			f.execExits = map[string]int{hotBackupCmd: tc.backupExit}
			f.onExec = func(c *fakeContainer, cmd []string) { // mariadb-backup fills its target
				if tc.backupExit == 0 && slices.Contains(cmd, hotBackupCmd) {
					if err := os.Mkdir(c.hostPath(cmd[len(cmd)-1]), 0o700); err != nil {
						t.Errorf("fake mariadb-backup: %v", err)
					}
				}
			}
			dir := t.TempDir()
			writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
			r := newFakeReconciler(t, f, dir, func(o *Options) { o.SiteTemplates = true })
			runFake(t, r)
			var in config.Instance
			testutil.WaitFor(t, 10*time.Second, "site-1 declared", func() bool {
				var ok bool
				in, ok = r.declared("site-1")
				return ok
			})
			kind := instance.TemplateKind(&in)
			testutil.WaitFor(t, 30*time.Second, "site-1 running, its template job over", func() bool {
				r.mu.Lock()
				ks := r.kinds[kind]
				over := ks != nil && !ks.building && (ks.failed || instance.HasTemplateOf(r.opt.Root, &in))
				r.mu.Unlock()
				return over && r.instanceState("site-1").State == StateRunning
			})
			passAfter(t, r, 10*time.Second)
			if st := r.instanceState("site-1"); st.State != StateRunning {
				t.Errorf("site-1 is %s after its template job (%s), want running", st.State, st.LastError)
			}
			starts := slices.DeleteFunc(f.Order(), func(s string) bool { return s != "start site-1-db" })
			if len(starts) != 1 {
				t.Errorf("site-1-db started %d times, want once (the template job stopped it): %v", len(starts), f.Order())
			}
			if got := instance.HasTemplateOf(r.opt.Root, &in); got != tc.wantTemplate {
				t.Errorf("template of %s made: %v, want %v", kind, got, tc.wantTemplate)
			}
			r.mu.Lock()
			failed := r.kinds[kind].failed
			r.mu.Unlock()
			if want := !tc.wantTemplate; failed != want {
				t.Errorf("kind %s: failed = %v, want %v: its next sites install themselves only without a template", kind, failed, want)
			}
		})
	}
}

// TestAfterJob: work an outcome leaves for once the instance serves (a clone's database
// giving back the memory of its URL rewrite) runs once, as the instance's next job, and the
// loop goes on (siteDone holds r.mu, and queueing a job takes it: the first version of this
// deadlocked the loop). siteDone is reached here from a job's onEnd, on the loop goroutine as
// from finished.
func TestAfterJob(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	r := newFakeReconciler(t, f, dir)
	runFake(t, r)
	testutil.WaitFor(t, 30*time.Second, "site-1 running", func() bool { return r.instanceState("site-1").State == StateRunning })
	calls := make(chan struct{}, 2)
	ctx := context.Background()
	j := &job{name: "site-1", what: "test", fn: func(context.Context, config.Instance) (outcome, error) { return outcome{}, nil }}
	j.onEnd = func(error) {
		r.siteDone(ctx, "site-1", outcome{afterWhat: "count the call", after: func(context.Context) {
			calls <- struct{}{}
		}}, nil)
	}
	if err := r.runJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatal("the after job did not run in 10 s")
	}
	passAfter(t, r, 10*time.Second) // the loop still answers
	select {
	case <-calls:
		t.Error("the after job ran twice")
	case <-time.After(200 * time.Millisecond):
	}
	if st := r.instanceState("site-1"); st.State != StateRunning {
		t.Errorf("site-1 is %s after its after job, want running", st.State)
	}
}

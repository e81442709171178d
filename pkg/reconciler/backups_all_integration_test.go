package reconciler

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestBackupsAllIntegration (issue 14), on the real engine and images: two sites, each with
// a post, backed up with BackupAll while a schedule of 2 s with keep = 2 runs; once it has
// run a few rounds and stopped, exactly two scheduled archives of each instance are left,
// and the --all ones are untouched. Then the instances and their folders are gone (a lost
// machine), and a fresh reconciler with a new instances root, given the backups folder and
// the same instances.toml, restores both with RestoreAll: both serve their posts.
func TestBackupsAllIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 2, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	a := itInstance{name: w.instance("a"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 241, port: w.ports[0]}
	b := itInstance{name: w.instance("b"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 242, port: w.ports[1]}
	writeFileAtomic(t, w.file, itFile(a, b))
	opt := w.opt
	opt.BackupSchedule, opt.BackupKeep = 2*time.Second, 2
	r, stop := runReconciler(t, w.eng, opt)
	waitRunning(t, r, a.name)
	waitRunning(t, r, b.name)
	ctx := context.Background()
	posts := map[string]string{}
	for _, in := range []itInstance{a, b} {
		posts[in.name] = wpPHP(t, in.name, `echo wp_insert_post(["post_title"=>"post of `+in.name+`","post_status"=>"publish"]);`)
	}
	all, err := r.BackupAll(ctx)
	if err != nil || all.Failed != 0 || len(all.Items) != 2 {
		t.Fatalf("BackupAll: %+v, %v", all, err)
	}
	t.Logf("backup --all: %+v", all.Items)
	dir := backup.Dir(w.root)
	rounds := func(name string) int { // scheduled backups taken since the first one seen
		n := 0
		for _, x := range listArchives(t, dir, name) {
			if x.Scheduled {
				n++
			}
		}
		return n
	}
	first := time.Now()
	testutil.WaitFor(t, 3*time.Minute, "three rounds of scheduled backups", func() bool {
		st := r.Status()
		for _, i := range st.Instances {
			if i.LastBackup.Before(first.Add(7*time.Second)) || rounds(i.Name) < 2 {
				return false
			}
		}
		return true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, in := range []itInstance{a, b} {
		var scheduled, manual int
		for _, x := range listArchives(t, dir, in.name) {
			if x.Scheduled {
				scheduled++
			} else {
				manual++
			}
		}
		if scheduled != 2 || manual != 1 {
			t.Errorf("%s: %d scheduled archives and %d others, want 2 and 1", in.name, scheduled, manual)
		}
	}

	// The machine is lost: containers, networks, instance folders. The backups folder and
	// instances.toml are given to a fresh one.
	dockerRmOwner(t, w.name)
	fresh := opt
	fresh.Root, fresh.Owner, fresh.BackupSchedule = filepath.Join(w.dir, "fresh"), w.name+"-fresh", 0
	cleanupOwner(t, fresh.Owner, fresh.Root)
	if err := os.MkdirAll(fresh.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", dir, backup.Dir(fresh.Root)).CombinedOutput(); err != nil {
		t.Fatalf("copy the backups: %v: %s", err, out)
	}
	r2 := startReconciler(t, w.eng, fresh)
	testutil.WaitFor(t, time.Minute, "both instances declared", func() bool { return len(r2.Status().Instances) == 2 })
	res, err := r2.RestoreAll(ctx)
	if err != nil || res.Failed != 0 {
		t.Fatalf("RestoreAll: %+v, %v", res, err)
	}
	t.Logf("restore --all: %+v in %s", res.Items, res.Duration)
	for _, in := range []itInstance{a, b} {
		testutil.WaitFor(t, 3*time.Minute, in.name+" running", func() bool { return r2.instanceState(in.name).State == StateRunning })
		if err := pageHas(t, in.port, "/?p="+posts[in.name], "post of "+in.name); err != nil {
			t.Errorf("%s after restore --all: %v", in.name, err)
		}
	}
}

func listArchives(t *testing.T, dir, name string) []backup.Archive {
	t.Helper()
	list, err := backup.List(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// dockerRmOwner removes every container and network labelled with owner, now.
func dockerRmOwner(t *testing.T, owner string) {
	t.Helper()
	filter := "label=" + docker.OwnerFilter(owner)
	if ids := dockerOut(t, "ps", "-aq", "--filter", filter); ids != "" {
		dockerOut(t, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	if ids := dockerOut(t, "network", "ls", "-q", "--filter", filter); ids != "" {
		dockerOut(t, append([]string{"network", "rm"}, strings.Fields(ids)...)...)
	}
}

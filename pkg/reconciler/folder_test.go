package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// TestFolderMadeAnewRecreates: the folder of a converged site is removed while its
// containers stay (the engine's volume kept, the instances folder new). wpinit, restarted,
// makes the folder again with new secrets, and the site's three containers are made again
// for it, bind-mounting by mounts of type bind; the other site is not touched.
func TestFolderMadeAnewRecreates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 2)
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(ctx)
	roles := []string{"db", "php", "web"}
	ids := map[string]string{}
	for _, s := range []string{"site-1", "site-2"} {
		for _, role := range roles {
			c := f.Container(s + "-" + role)
			if c == nil {
				t.Fatalf("%s-%s not created", s, role)
			}
			ids[c.Name] = c.ID
		}
	}
	if m := f.Container("site-1-web").Create.HostConfig; len(m.Binds) != 0 || len(m.Mounts) == 0 || m.Mounts[0].Type != "bind" {
		t.Fatalf("web's folders: binds %v, mounts %+v; want mounts of type bind only", m.Binds, m.Mounts)
	}
	if err := os.RemoveAll(filepath.Join(dir, "root", "site-1")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a new folder is born later than the old one
	fresh := newFakeReconciler(t, f, dir)
	fresh.ReconcileOnce(ctx)
	info, err := instance.ReadInfo(instance.Layout{Root: filepath.Join(dir, "root"), Name: "site-1"})
	if err != nil {
		t.Fatal(err)
	}
	born := info.Created.UTC().Format(time.RFC3339Nano)
	for _, role := range roles {
		c := f.Container("site-1-" + role)
		if c == nil || c.ID == ids["site-1-"+role] {
			t.Errorf("site-1-%s kept its container made for the removed folder", role)
		} else if got := c.Labels[docker.LabelFolder]; got != born {
			t.Errorf("site-1-%s: folder label %q, want %q", role, got, born)
		}
		if c := f.Container("site-2-" + role); c == nil || c.ID != ids["site-2-"+role] {
			t.Errorf("site-2-%s was touched", role)
		}
	}
	for _, st := range fresh.Status().Instances {
		if st.State != StateRunning {
			t.Errorf("%s is %s: %s", st.Name, st.State, st.LastError)
		}
	}
}

package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// TestNetworksAndContainersConfined: the reconciler creates the instance and shared networks
// with their bridge names (what the wp-dind firewall matches), and every container with its
// pids limit, its role's capabilities only and no-new-privileges.
func TestNetworksAndContainersConfined(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	src := "version = 1\n[[instance]]\nname = \"site-1\"\nid = 3\nport = 8003\nshared_network = true\n"
	if err := os.WriteFile(filepath.Join(dir, "instances.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(context.Background())
	bridges := map[string]string{}
	f.mu.Lock()
	for _, n := range f.networks {
		bridges[n.Name] = n.Options[docker.BridgeNameOption]
	}
	f.mu.Unlock()
	a := r.opt.Network
	if bridges[a.Instance(3).Name] != "wpbr3" || bridges[a.SharedNetwork] != "wpbrshared" {
		t.Errorf("bridges %v, want wpbr3 and wpbrshared", bridges)
	}
	for _, role := range instance.Roles {
		c := f.Container(instance.ContainerName("site-1", role))
		if c == nil {
			t.Fatalf("no %s container", role)
		}
		h := c.Create.HostConfig
		if h == nil || h.PidsLimit == nil || *h.PidsLimit <= 0 {
			t.Fatalf("%s: no pids limit in %+v", role, h)
		}
		// The client sends capabilities in their canonical CAP_ form.
		var caps []string
		for _, c := range instance.Capabilities(role) {
			caps = append(caps, "CAP_"+c)
		}
		if !slices.Equal(h.CapDrop, []string{"ALL"}) || !slices.Equal(h.CapAdd, caps) ||
			!slices.Equal(h.SecurityOpt, []string{"no-new-privileges"}) {
			t.Errorf("%s: drop %v add %v security %v", role, h.CapDrop, h.CapAdd, h.SecurityOpt)
		}
	}
}

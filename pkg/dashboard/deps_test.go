package dashboard

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWireTypesOnly holds the package doc's promise: the dashboard reads ctl's wire types and
// the resources sample, never the packages of the instance pipeline (ctl itself brings the
// supervisor and config, for its service routes).
func TestWireTypesOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, p := range []string{"reconciler", "images", "instance", "backup", "sysinit", "docker", "phpmyadmin"} {
			if dep == "github.com/wp-dind/wp-dind/pkg/"+p {
				t.Errorf("the dashboard depends on %s: give it ctl's wire types from init/ instead", dep)
			}
		}
	}
}

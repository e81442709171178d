package ctl

import (
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// pipeline are the packages ctl must not depend on: init/ converts their snapshots into
// ctl's wire types, so `wpinit ctl` and the tests that read the status need none of them.
var pipeline = []string{"reconciler", "images", "instance", "backup", "sysinit", "docker", "phpmyadmin", "router", "ca"}

// TestNoPipelineDeps holds the invariant of the package doc: `go list -deps ./pkg/ctl`
// names no package of the instance pipeline.
func TestNoPipelineDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/wp-dind/wp-dind/pkg/ctl") {
		t.Fatalf("go list -deps does not list ctl itself: %q", out)
	}
	for _, dep := range deps {
		for _, p := range pipeline {
			if dep == "github.com/wp-dind/wp-dind/pkg/"+p {
				t.Errorf("ctl depends on %s: convert its values in init/ instead", dep)
			}
		}
	}
}

// TestSections: each Section constant is the JSON key of one field of Status, and back.
func TestSections(t *testing.T) {
	sections := []Section{SectionWpinit, SectionServices, SectionSysinit, SectionDocker, SectionImages, SectionInstances, SectionRouter}
	st := reflect.TypeFor[Status]()
	var keys []Section
	for i := range st.NumField() {
		key, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		keys = append(keys, Section(key))
	}
	if !slices.Equal(keys, sections) {
		t.Errorf("Status fields %q, sections %q", keys, sections)
	}
}

package resources

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const (
	fixtureID   = "0e5cfb8b6db8353d5b41e3beff23addf27528e3e7a459493578054c0d17c5c17" // docker/ID (cgroupfs)
	fixtureUnit = "d284b4fae7df4b22252f79c7a4b15c377f9a1b7097c1154ad00854b874fd2cc1" // docker-ID.scope (systemd), v2 only
)

// TestCgroupsFixtures reads the fixture trees: a v1 hybrid layout as the inner dockerd makes
// it on this machine's hosts, and a v2 unified one, cgroupfs and systemd names.
func TestCgroupsFixtures(t *testing.T) {
	for _, tt := range []struct {
		root, id string
		want     Usage
	}{
		{"testdata/v1", fixtureID, Usage{CPUSeconds: 4.591095782, MemoryBytes: 39936000 - 3936000}},
		{"testdata/v2", fixtureID, Usage{CPUSeconds: 2.5, MemoryBytes: 52428800 - 20971520}},
		{"testdata/v2", fixtureUnit, Usage{CPUSeconds: 2.5, MemoryBytes: 52428800 - 20971520}},
	} {
		c := &Cgroups{Root: tt.root}
		got, err := c.Read(tt.id)
		if err != nil || got != tt.want {
			t.Errorf("%s %.12s: %+v, %v; want %+v", tt.root, tt.id, got, err, tt.want)
		}
	}
	for _, root := range []string{"testdata/v1", "testdata/v2"} {
		c := &Cgroups{Root: root}
		if _, err := c.Read("feedface"); !errors.Is(err, ErrNoCgroup) {
			t.Errorf("%s: an unknown container: %v", root, err)
		}
	}
}

// TestCgroupsGoneContainer: a container whose folder vanished after it was found (it
// stopped) reads as ErrNoCgroup, and Forget drops what is not kept.
func TestCgroupsGoneContainer(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/v2")); err != nil {
		t.Fatal(err)
	}
	c := &Cgroups{Root: root}
	if _, err := c.Read(fixtureID); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "docker", fixtureID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(fixtureID); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("a removed group: %v", err)
	}
	c.Forget(map[string]bool{})
	if len(c.paths) != 0 {
		t.Errorf("kept %d paths", len(c.paths))
	}
}

// FuzzStatField: the flat-keyed parser takes any file without panicking.
func FuzzStatField(f *testing.F) {
	f.Add([]byte("usage_usec 2500000\nuser_usec 1\n"))
	f.Add([]byte("usage_usec\n"))
	f.Add([]byte("usage_usec -1\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "cpu.stat")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = statField(p, "usage_usec")
	})
}

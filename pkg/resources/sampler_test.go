package resources

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestSamplerOnDemand: the first Latest wakes the sampler and waits for a reading; CPU
// percent comes from two readings; with no reader the sampler stops listing.
func TestSamplerOnDemand(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/v2")); err != nil {
		t.Fatal(err)
	}
	var lists atomic.Int32
	s := NewSampler(Options{
		List: func(context.Context) ([]Container, error) {
			lists.Add(1)
			return []Container{{ID: fixtureID, Instance: "site", Role: "php"}, {ID: "stopped", Instance: "site", Role: "db"}}, nil
		},
		Cgroups: &Cgroups{Root: root}, Interval: 20 * time.Millisecond, IdleAfter: 60 * time.Millisecond, Logger: hclog.NewNullLogger(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	first := s.Latest(time.Second)
	if len(first.Containers) != 1 || first.Containers[0].Instance != "site" || first.Containers[0].CPUSeconds != 2.5 {
		t.Fatalf("first sample: %+v", first)
	}
	// 0.5 s more CPU: the next sample shows a percentage.
	stat := filepath.Join(root, "docker", fixtureID, "cpu.stat")
	if err := os.WriteFile(stat, []byte("usage_usec 3000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "a CPU percentage", func() bool {
		l := s.Latest(0)
		return len(l.Containers) == 1 && l.Containers[0].CPUPercent > 0
	})
	testutil.WaitFor(t, 5*time.Second, "the sampler asleep", func() bool {
		n := lists.Load()
		time.Sleep(150 * time.Millisecond) // past IdleAfter with no reader
		return lists.Load() == n
	})
}

// TestDiskWalk: du-like sums per key, and a walk past its entry bound is marked partial.
func TestDiskWalk(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"a", "b", "sub/c"} {
		p := filepath.Join(dir, "data", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("x", 8192*(i+1))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths := func() map[string]string {
		return map[string]string{"site": filepath.Join(dir, "data"), "backups": filepath.Join(dir, "none")}
	}
	d := &Disk{Paths: paths, MaxEntries: 100, Timeout: time.Second}
	u := d.Walk(context.Background())
	if u.Partial || u.Bytes["site"] < 6*8192 || u.Bytes["backups"] != 0 || u.At.IsZero() {
		t.Errorf("walk: %+v", u)
	}
	d.MaxEntries = 2
	if u := d.Walk(context.Background()); !u.Partial {
		t.Errorf("a walk past its bound is not partial: %+v", u)
	}
}

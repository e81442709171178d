package instance

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestSeed: a copy leaves the snapshot whole; a move leaves it unreadable (its database
// folder went into the clone), and DropSnapshot removes what is left of it. Both fill the
// clone's data/mysql and data/wordpress with the snapshot's, over what was there.
func TestSeed(t *testing.T) {
	for _, move := range []bool{false, true} {
		root := t.TempDir()
		s := seedSnapshot(t, Layout{Root: root, Name: "blog"})
		clone := Layout{Root: root, Name: "copy"}
		for _, d := range []string{clone.MySQLDir(), clone.WordPressDir()} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			writeT(t, filepath.Join(d, "stale"), "before")
		}
		// A cut copy's leftover next to data/mysql, and data/wordpress empty, as the engine
		// leaves a missing bind-mount source it made.
		if err := os.MkdirAll(clone.MySQLDir()+seedSuffix, 0o755); err != nil {
			t.Fatal(err)
		}
		writeT(t, filepath.Join(clone.MySQLDir()+seedSuffix, "ibdata1"), "cut")
		if err := os.RemoveAll(filepath.Join(clone.WordPressDir(), "stale")); err != nil {
			t.Fatal(err)
		}
		if err := Seed(clone, s, move); err != nil {
			t.Fatalf("move %v: %v", move, err)
		}
		for p, want := range map[string]string{
			filepath.Join(clone.MySQLDir(), "ibdata1"):       "data",
			filepath.Join(clone.WordPressDir(), "index.php"): "<?php",
		} {
			if b, err := os.ReadFile(p); err != nil || string(b) != want {
				t.Errorf("move %v: %s = %q %v, want %q", move, p, b, err, want)
			}
		}
		if _, err := os.Lstat(filepath.Join(clone.MySQLDir(), "stale")); !os.IsNotExist(err) {
			t.Errorf("move %v: what the clone held before is left", move)
		}
		for _, d := range []string{clone.MySQLDir(), clone.WordPressDir()} {
			if _, err := os.Lstat(d + seedSuffix); !os.IsNotExist(err) {
				t.Errorf("move %v: %s left after the seed: %v", move, d+seedSuffix, err)
			}
		}
		_, err := ReadSnapshot(s)
		if move != (err != nil) {
			t.Errorf("move %v: the snapshot reads after the seed: %v", move, err)
		}
		if err := DropSnapshot(s); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{s.Dir(), s.DBDir()} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("move %v: %s left after DropSnapshot", move, p)
			}
		}
		if err := DropSnapshot(Snapshot{Layout: s.Layout, Label: "../x"}); err == nil {
			t.Error("DropSnapshot took a label with ..")
		}
	}
}

// seedSnapshot makes a complete snapshot of a minimal instance l.
func seedSnapshot(t *testing.T, l Layout) Snapshot {
	t.Helper()
	minimalInstance(t, l)
	s := Snapshot{Layout: l, Label: "fresh"}
	if err := PrepareSnapshot(s); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.TmpDBDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	writeT(t, filepath.Join(s.TmpDBDir(), "ibdata1"), "data")
	if err := CopySnapshotFiles(s); err != nil {
		t.Fatal(err)
	}
	if err := CompleteSnapshot(s, &SnapshotManifest{Created: time.Now(), DB: "mariadb 11.8"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTemplateUnfinished: a start from a template recorded (SetTemplated) and not ended
// (no SetSeeded) is unfinished on the next Prepare; once seeded, or once undone, it is not.
func TestTemplateUnfinished(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	if mustPrepare(t, root, in).TemplateUnfinished() {
		t.Fatal("a new folder is unfinished")
	}
	l := Layout{Root: root, Name: in.Name}
	for _, c := range []struct {
		templated, seeded string
		want              bool
	}{
		{"k1", "", true},
		{"k1", "template k1", false},
		{"", "", false},
	} {
		if err := SetTemplated(l, c.templated); err != nil {
			t.Fatal(err)
		}
		if err := SetSeeded(l, c.seeded); err != nil {
			t.Fatal(err)
		}
		if got := mustPrepare(t, root, in).TemplateUnfinished(); got != c.want {
			t.Errorf("templated %q seeded %q: unfinished %v, want %v", c.templated, c.seeded, got, c.want)
		}
	}
}

// TestPrepareKeepsRecordsWrittenMeanwhile: passes prepare the folder while its convergence
// records its seed and its Xdebug mode; no record is undone by a Prepare that read the file
// before it (Prepare writes its own fields over the file as it is then).
func TestPrepareKeepsRecordsWrittenMeanwhile(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	mustPrepare(t, root, in)
	l := Layout{Root: root, Name: in.Name}
	var passes atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := Prepare(root, in, testOpts, time.Unix(0, 0)); err != nil {
				t.Error(err)
				return
			}
			passes.Add(1)
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 100 {
		seed, mode := fmt.Sprintf("template k%d", i), fmt.Sprintf("mode%d", i)
		if err := SetSeeded(l, seed); err != nil {
			t.Fatal(err)
		}
		if err := SetXdebugRunning(l, mode); err != nil {
			t.Fatal(err)
		}
		for n := passes.Load(); passes.Load() < n+2; { // two whole passes since
			time.Sleep(100 * time.Microsecond)
		}
		info, err := ReadInfo(l)
		if err != nil {
			t.Fatal(err)
		}
		if info.Seeded != seed || info.XdebugRunning != mode {
			t.Fatalf("try %d: seeded %q, xdebug running %q after two passes; want %q, %q", i, info.Seeded, info.XdebugRunning, seed, mode)
		}
	}
}

// TestSeedBesidePrepare: a pass prepares an instance while its convergence seeds it (the
// folders it makes and the copies renamed in race): neither ever fails, and the seed's
// folders are the snapshot's.
func TestSeedBesidePrepare(t *testing.T) {
	root := t.TempDir()
	s := seedSnapshot(t, Layout{Root: root, Name: "blog"})
	clone := Layout{Root: root, Name: "copy"}
	if _, err := newDirMaker(root).ensure(clone.MySQLDir()); err != nil { // as Prepare does first
		t.Fatal(err)
	}
	stop := make(chan struct{})
	prepared := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				prepared <- nil
				return
			default:
			}
			dm := newDirMaker(root)
			for _, d := range []string{clone.MySQLDir(), clone.WordPressDir()} {
				if _, err := dm.ensure(d); err != nil {
					prepared <- err
					return
				}
			}
		}
	}()
	for i := range 30 {
		if err := Seed(clone, s, false); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if b, err := os.ReadFile(filepath.Join(clone.MySQLDir(), "ibdata1")); err != nil || string(b) != "data" {
			t.Fatalf("seed %d: ibdata1 = %q %v", i, b, err)
		}
	}
	close(stop)
	if err := <-prepared; err != nil {
		t.Fatalf("preparing beside the seeds: %v", err)
	}
}

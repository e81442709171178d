package instance

import (
	"os"
	"path/filepath"
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

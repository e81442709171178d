package instance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// TestSnapshotLifecycle: a snapshot exists once complete, is listed with its size, and what
// an interrupted one leaves is swept; a removed one is gone whole.
func TestSnapshotLifecycle(t *testing.T) {
	l := Layout{Root: t.TempDir(), Name: "blog"}
	minimalInstance(t, l)
	s := Snapshot{Layout: l, Label: "one"}
	if err := PrepareSnapshot(s); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.TmpDBDir(), 0o700); err != nil { // what mariadb-backup writes
		t.Fatal(err)
	}
	writeT(t, filepath.Join(s.TmpDBDir(), "ibdata1"), "data")
	if err := CopySnapshotFiles(s); err != nil {
		t.Fatal(err)
	}
	if list, _ := ListSnapshots(l); len(list) != 0 {
		t.Fatalf("a snapshot in progress is listed: %+v", list)
	}
	if err := CompleteSnapshot(s, &SnapshotManifest{Created: time.Now(), DB: "mariadb 11.8"}); err != nil {
		t.Fatal(err)
	}
	list, err := ListSnapshots(l)
	if err != nil || len(list) != 1 || list[0].Label != "one" || list[0].DiskBytes == 0 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if fi, err := os.Stat(filepath.Join(s.Dir(), SecretsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets in the snapshot: %v %v", fi, err)
	}
	if err := PrepareSnapshot(s); err == nil {
		t.Error("a second snapshot of the same label was prepared")
	}
	half := Snapshot{Layout: l, Label: "half"}
	if err := PrepareSnapshot(half); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(l.SnapshotDBDir(), "orphan")
	if err := os.MkdirAll(orphan, 0o700); err != nil {
		t.Fatal(err)
	}
	removed, err := SweepSnapshots(l)
	if err != nil || len(removed) != 2 {
		t.Errorf("sweep removed %v (%v), want the half-taken one and the orphan", removed, err)
	}
	if err := RemoveSnapshot(s); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.Dir(), s.DBDir()} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after the removal", p)
		}
	}
	if err := ValidLabel("../x"); err == nil {
		t.Error("a label with .. is valid")
	}
}

// TestRecoverRestore: a restore killed in the middle of its swap (some parts set aside,
// others not yet) gets back exactly the instance's own parts.
func TestRecoverRestore(t *testing.T) {
	l := Layout{Root: t.TempDir(), Name: "blog"}
	for _, p := range []string{l.WordPressDir(), l.MySQLDir(), filepath.Join(l.Dir(), configDir)} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeT(t, filepath.Join(l.WordPressDir(), "mine"), "own")
	writeT(t, filepath.Join(l.MySQLDir(), "mine"), "own")
	writeT(t, l.InfoPath(), `{"name":"blog"}`)
	now := time.Now()
	if err := MarkRestore(l, now); err != nil {
		t.Fatal(err)
	}
	aside := AsidePath(l, now)
	if err := os.MkdirAll(filepath.Join(aside, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	// data/wordpress was set aside and replaced; data/mysql not moved yet when killed.
	if err := os.Rename(l.WordPressDir(), filepath.Join(aside, wordpressDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(l.WordPressDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	writeT(t, filepath.Join(l.WordPressDir(), "restored"), "snapshot's")
	discard := t.TempDir()
	if _, err := RecoverRestore(l, discard); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(l.WordPressDir(), "mine"), filepath.Join(l.MySQLDir(), "mine")} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "own" {
			t.Errorf("%s after the recovery: %q %v", p, b, err)
		}
	}
	if Restoring(l) {
		t.Error("mark left")
	}
	if _, err := os.Lstat(aside); !os.IsNotExist(err) {
		t.Error("set-aside folder left")
	}
}

// minimalInstance gives l what a snapshot copies: a document root, a config folder, its
// info and secrets.
func minimalInstance(t *testing.T, l Layout) {
	t.Helper()
	for _, p := range []string{l.WordPressDir(), l.ConfigDir(config.Component{Flavor: config.FlavorPHP, Version: "8.4"})} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeT(t, filepath.Join(l.WordPressDir(), "index.php"), "<?php")
	writeT(t, l.InfoPath(), `{"name":"blog"}`)
	writeT(t, l.SecretsPath(), "DB_PASSWORD=x\n")
}

func writeT(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

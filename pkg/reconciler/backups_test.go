package reconciler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// TestRestoreRollbackOnFakeEngine: the leftovers of a crash are swept at boot; a declared
// instance is not purged; a relative FILE is refused; a restore whose import fails (the
// fake engine fails the database client) rolls the instance back to its files and
// database files, removes the set-aside folder and leaves no staging folder, and its
// containers run again.
func TestRestoreRollbackOnFakeEngine(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	root := filepath.Join(dir, "root")
	stale := []string{filepath.Join(root, ".restore-site-1-123"), filepath.Join(root, "backups", ".site-1-123.sql.tmp")}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("left by a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := newFakeReconciler(t, f, dir)
	runFake(t, r)
	waitReady(t, r)
	for _, p := range stale {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s not swept at boot: %v", p, err)
		}
	}
	if _, err := r.Purge("site-1"); !errors.Is(err, ErrDeclared) {
		t.Errorf("purge of a declared instance: %v", err)
	}
	ctx := context.Background()
	if _, err := r.Restore(ctx, "site-1", "sub/x.tar.gz"); !errors.Is(err, backup.ErrFileName) {
		t.Errorf("restore from a relative path: %v", err)
	}

	res, err := r.Backup(ctx, "site-1")
	if err != nil {
		t.Fatal(err)
	}
	l := instance.Layout{Root: root, Name: "site-1"}
	live := map[string]string{
		filepath.Join(l.WordPressDir(), "after-the-backup.txt"): "a post made after the backup",
		filepath.Join(l.MySQLDir(), "ibdata1"):                  "the live database",
	}
	for p, content := range live {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	f.failExec = sqlCmd // the import; not the health checks
	f.mu.Unlock()
	_, err = r.Restore(ctx, "site-1", filepath.Base(res.Path))
	if err == nil || !strings.Contains(err.Error(), "import dump") || !strings.Contains(err.Error(), `rolled back: "site-1" serves again`) {
		t.Fatalf("restore with a failing import: %v", err)
	}
	t.Logf("restore: %v", err)
	for p, want := range live {
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s after the rollback = %q, %v", p, got, err)
		}
	}
	if list, _ := instance.ListArchived(root, "site-1"); len(list) != 0 {
		t.Errorf("set-aside folders left: %+v", list)
	}
	if left, _ := filepath.Glob(filepath.Join(root, ".restore-*")); len(left) != 0 {
		t.Errorf("staging left: %v", left)
	}
	for _, n := range []string{"site-1-db", "site-1-php", "site-1-web"} {
		if c := f.Container(n); c == nil || c.State != "running" {
			t.Errorf("%s after the rollback: %+v", n, c)
		}
	}
}

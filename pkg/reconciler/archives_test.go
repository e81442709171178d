package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

func TestSelectArchives(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := func(name string, ago time.Duration) instance.Archived {
		return instance.Archived{Name: name, Path: "/r/.archive/" + name, When: now.Add(-ago)}
	}
	list := []instance.Archived{at("old", 40*24*time.Hour), at("week", 7*24*time.Hour), at("fresh", time.Minute), at("live", 90*24*time.Hour)}
	declared := map[string]bool{"live": true}
	for _, tc := range []struct {
		name        string
		olderThan   time.Duration
		purge, keep string
	}{
		{"every removed instance's", 0, "old,week,fresh", "live"},
		{"older than 30 days", 30 * 24 * time.Hour, "old", "week,fresh,live"},
		{"older than a day", 24 * time.Hour, "old,week", "fresh,live"},
		{"older than a minute: exactly a minute is kept", time.Minute, "old,week", "fresh,live"},
		{"older than a year", 365 * 24 * time.Hour, "", "old,week,fresh,live"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			purge, keep := selectArchives(list, declared, now, tc.olderThan)
			if got := names(purge); got != tc.purge {
				t.Errorf("purge %q, want %q", got, tc.purge)
			}
			if got := names(keep); got != tc.keep {
				t.Errorf("keep %q, want %q", got, tc.keep)
			}
		})
	}
}

func names(list []instance.Archived) string {
	var out []string
	for _, a := range list {
		out = append(out, a.Name)
	}
	return strings.Join(out, ",")
}

func TestRetentionEvery(t *testing.T) {
	for _, tc := range []struct{ retention, want time.Duration }{
		{time.Minute, time.Minute}, {2 * time.Hour, 30 * time.Minute}, {720 * time.Hour, time.Hour},
	} {
		if got := retentionEvery(tc.retention); got != tc.want {
			t.Errorf("retentionEvery(%s) = %s, want %s", tc.retention, got, tc.want)
		}
	}
}

// archiveFolder makes ROOT/.archive/NAME-STAMP holding size bytes, as a removal leaves it.
func archiveFolder(t *testing.T, root, name string, when time.Time, size int) string {
	t.Helper()
	dir := filepath.Join(root, instance.ArchiveDir, name+"-"+when.UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "blob"), make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// On the fake engine: the status counts the archives and their bytes; a purge with
// --older-than deletes only the removed instances' old folders and says what it freed; a
// declared instance's folder (a restore's copy) is kept; the retention timer deletes the
// rest once they are old enough, and nothing else.
func TestPurgeArchivedOnFakeEngine(t *testing.T) {
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 1)
	root := filepath.Join(dir, "root")
	now := time.Now()
	old := archiveFolder(t, root, "gone-a", now.Add(-40*24*time.Hour), 1<<20)
	fresh := archiveFolder(t, root, "gone-b", now.Add(-time.Hour), 2<<20)
	setAside := archiveFolder(t, root, "site-1", now.Add(-90*24*time.Hour), 1<<20)
	r := newFakeReconciler(t, f, dir)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitReady(t, r)

	st := r.Status()
	if st.Archives.Count != 3 || st.Archives.Bytes < 4<<20 || st.Archives.Partial {
		t.Errorf("archives in status: %+v", st.Archives)
	}
	sum, err := r.PurgeArchived(30 * 24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Purged) != 1 || sum.Purged[0].Path != old || sum.Bytes < 1<<20 || sum.Kept != 2 || sum.KeptDeclared != 1 {
		t.Errorf("purge older than 30 days: %+v", sum)
	}
	for path, want := range map[string]bool{old: false, fresh: true, setAside: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s there: %v, want %t", path, err == nil, want)
		}
	}
	if st := r.Status(); st.Archives.Count != 2 {
		t.Errorf("archives after the purge: %+v", st.Archives)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// A reconciler with a retention of 30 minutes: gone-b (an hour old) goes once its first
	// pass is done, site-1's copy stays.
	r2 := newFakeReconciler(t, f, dir, func(o *Options) { o.ArchiveRetention = 30 * time.Minute })
	runFake(t, r2)
	waitReady(t, r2)
	testutil.WaitFor(t, 10*time.Second, "archive_retention to delete "+fresh, func() bool {
		_, err := os.Stat(fresh)
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(setAside); err != nil {
		t.Errorf("a declared instance's set-aside folder: %v", err)
	}
}

// A folder is measured once; one that changed since (a restore filling its set-aside
// folder) is measured again.
func TestArchiveSizesCache(t *testing.T) {
	root := t.TempDir()
	dir := archiveFolder(t, root, "gone", time.Now(), 64<<10)
	var c archiveSizes
	_, u := c.list(root)
	if err := os.WriteFile(filepath.Join(dir, "data", "blob"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, again := c.list(root); again.Bytes != u.Bytes {
		t.Errorf("an unchanged folder measured again: %d then %d bytes", u.Bytes, again.Bytes)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("moved in"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, after := c.list(root); after.Bytes < 1<<20 || after.Count != 1 {
		t.Errorf("a folder that changed: %+v, before %+v", after, u)
	}
}

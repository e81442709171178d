package reconciler

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// backdate renames an archived folder as if it had been archived at when (its name holds
// the time of the removal).
func backdate(t *testing.T, a instance.Archived, when time.Time) string {
	t.Helper()
	dst := filepath.Join(filepath.Dir(a.Path), a.Name+"-"+when.UTC().Format("20060102T150405Z"))
	if err := os.Rename(a.Path, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestArchivesIntegration: on the real engine, two real sites removed from the file are
// archived whole; the status shows their count and bytes (what du measures); a purge
// with --older-than deletes nothing fresh, then only the one backdated past it, freeing its
// bytes; a reconciler with archive_retention deletes the other once it is old enough. Nothing
// is deleted before that.
func TestArchivesIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 2, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	a := itInstance{name: w.instance("a"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 211, port: w.ports[0]}
	b := itInstance{name: w.instance("b"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 212, port: w.ports[1]}
	writeFileAtomic(t, w.file, itFile(a, b))
	r, stop := runReconciler(t, w.eng, w.opt)
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Minute):
		t.Fatal("first pass not done after 10 minutes")
	}
	for _, in := range []itInstance{a, b} {
		if err := serves(t, in.port); err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
	}
	writeFileAtomic(t, w.file, itFile())
	testutil.WaitFor(t, 3*time.Minute, "both archived", func() bool { return r.Status().Archives.Count == 2 })
	st := r.Status()
	var sum int64
	for _, ar := range st.Archived {
		if ar.Bytes < 10<<20 {
			t.Errorf("%s: %d bytes, want a whole site's folder", ar.Path, ar.Bytes)
		}
		if du := duBytes(t, ar.Path); ar.Bytes != du {
			t.Errorf("%s: status says %d bytes, du -sB1 %d", ar.Path, ar.Bytes, du)
		}
		sum += ar.Bytes
	}
	if st.Archives.Bytes != sum || st.Archives.Partial {
		t.Errorf("archives %+v, folders sum to %d", st.Archives, sum)
	}
	t.Logf("two removed sites archive %.1f MiB", float64(sum)/(1<<20))

	res, err := r.PurgeArchived(time.Hour)
	if err != nil || len(res.Purged) != 0 || res.Kept != 2 {
		t.Fatalf("purge older than 1h of fresh archives: %+v, %v", res, err)
	}
	old := backdate(t, st.Archived[0], time.Now().Add(-48*time.Hour))
	res, err = r.PurgeArchived(24 * time.Hour)
	if err != nil || len(res.Purged) != 1 || res.Purged[0].Path != old || res.Bytes != st.Archived[0].Bytes || res.Kept != 1 {
		t.Fatalf("purge older than 24h: %+v, %v (want %s, %d bytes)", res, err, old, st.Archived[0].Bytes)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", old, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	left := backdate(t, st.Archived[1], time.Now().Add(-2*time.Hour))
	opt := w.opt
	opt.ArchiveRetention = time.Hour
	r2 := startReconciler(t, w.eng, opt)
	testutil.WaitFor(t, time.Minute, "archive_retention to delete "+left, func() bool {
		_, err := os.Stat(left)
		return os.IsNotExist(err)
	})
	if st := r2.Status(); st.Archives.Count != 0 || st.Archives.Bytes != 0 {
		t.Errorf("archives after the retention: %+v", st.Archives)
	}
}

// duBytes is what du -s counts for path, in bytes (blocks of 512).
func duBytes(t *testing.T, path string) int64 {
	t.Helper()
	out, err := exec.Command("du", "-s", "-B512", path).Output()
	if err != nil {
		t.Fatalf("du %s: %v", path, err)
	}
	blocks, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatalf("du %s: %q: %v", path, out, err)
	}
	return blocks * 512
}

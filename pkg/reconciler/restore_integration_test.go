package reconciler

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestRestoreRollbackIntegration (issue 10): on the real engine, an archive that stages
// fine but whose dump stops importing half-way (a syntax error in its middle) is rolled
// back: the restore fails saying so, and the site serves what it held before the restore,
// a post and a file made after the backup included, with no set-aside or staging folder
// left behind. A hostile archive is refused before anything changes.
func TestRestoreRollbackIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 1, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	in := itInstance{name: w.instance("rb"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 211, port: w.ports[0]}
	writeFileAtomic(t, w.file, itFile(in))
	r := startReconciler(t, w.eng, w.opt)
	waitRunning(t, r, in.name)
	l := instance.Layout{Root: w.root, Name: in.name}
	ctx := context.Background()

	before := wpPHP(t, in.name, `echo wp_insert_post(["post_title"=>"in the backup","post_status"=>"publish"]);`)
	res, err := r.Backup(ctx, in.name)
	if err != nil {
		t.Fatal(err)
	}
	after := wpPHP(t, in.name, `echo wp_insert_post(["post_title"=>"made after the backup","post_status"=>"publish"]);`)
	marker := filepath.Join(l.WordPressDir(), "after-the-backup.txt")
	if err := os.WriteFile(marker, []byte("made after the backup\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(w.dir, "broken-dump.tar.gz")
	if err := os.WriteFile(broken, breakDump(t, res.Path), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("a hostile archive changes nothing", func(t *testing.T) {
		hostile := filepath.Join(w.dir, "hostile.tar.gz")
		if err := os.WriteFile(hostile, rewriteArchive(t, res.Path, func(h *tar.Header, body []byte) (*tar.Header, []byte) {
			if h.Name == ".env" {
				return &tar.Header{Typeflag: tar.TypeSymlink, Name: ".env", Linkname: "../other/.env", Mode: 0o777}, nil
			}
			return h, body
		}), 0o600); err != nil {
			t.Fatal(err)
		}
		before := containerStarts(t, in.name)
		_, err := r.Restore(ctx, in.name, hostile)
		if !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), `entry ".env" is a symbolic link`) {
			t.Fatalf("restore of a hostile archive: %v", err)
		}
		untouched(t, in.name, in.port, before)
	})

	t.Run("a dump that fails to import is rolled back", func(t *testing.T) {
		began := time.Now()
		_, err := r.Restore(ctx, in.name, broken)
		t.Logf("restore after %s: %v", time.Since(began).Round(time.Second), err)
		if err == nil || !strings.Contains(err.Error(), "import dump") || !strings.Contains(err.Error(), "rolled back: ") ||
			!strings.Contains(err.Error(), "serves again as it was before the restore") {
			t.Fatalf("restore of a dump that fails: %v", err)
		}
		for id, title := range map[string]string{before: "in the backup", after: "made after the backup"} {
			if got := postTitleSQL(t, in.name, id); got != title {
				t.Errorf("post %s after the rollback (SQL): %q, want %q", id, got, title)
			}
		}
		if err := pageHas(t, in.port, "/?p="+after, "made after the backup"); err != nil {
			t.Errorf("post made after the backup (HTTP): %v", err)
		}
		if got := readFile(t, marker); got != "made after the backup\n" {
			t.Errorf("file made after the backup: %q", got)
		}
		if list, _ := instance.ListArchived(w.root, in.name); len(list) != 0 {
			t.Errorf("set-aside folders left: %+v", list)
		}
		if left, _ := filepath.Glob(filepath.Join(w.root, ".restore-*")); len(left) != 0 {
			t.Errorf("staging left: %v", left)
		}
		testutil.WaitFor(t, 2*time.Minute, in.name+" running again", func() bool {
			return r.instanceState(in.name).State == StateRunning
		})
	})
}

// breakDump returns the archive at path with a line that is not SQL in the middle of its
// dump (the manifest's dump size updated): it stages fine, and the import stops there.
func breakDump(t *testing.T, path string) []byte {
	t.Helper()
	const bad = "THIS IS NOT SQL;\n"
	return rewriteArchive(t, path, func(h *tar.Header, body []byte) (*tar.Header, []byte) {
		switch h.Name {
		case backup.DumpName:
			mid := bytes.IndexByte(body[len(body)/2:], '\n') + len(body)/2 + 1
			body = append(append(append([]byte{}, body[:mid]...), bad...), body[mid:]...)
		case backup.ManifestName:
			var m backup.Manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			m.DumpBytes += int64(len(bad))
			body, _ = json.Marshal(m)
		}
		return h, body
	})
}

// rewriteArchive copies the archive at path, each entry through edit.
func rewriteArchive(t *testing.T, path string, edit func(*tar.Header, []byte) (*tar.Header, []byte)) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		h, body = edit(h, body)
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

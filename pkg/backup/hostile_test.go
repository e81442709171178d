package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

var update = flag.Bool("update", false, "rewrite the corpus seeds in testdata/fuzz/FuzzStage")

const seedDir = "testdata/fuzz/FuzzStage"

// TestHostileArchives stages each archive of the corpus, read from its seed file, into a
// root holding the instance blog, another instance (victim) and a folder outside the root
// that links aim at. A refused archive leaves every file and folder of the test's folder
// as it was (content, modes, owners, link targets), blog's included; an accepted one
// changes nothing outside blog's folder, even once Replace has put it in place, and its
// modes are normalised.
func TestHostileArchives(t *testing.T) {
	for _, c := range corpus() {
		t.Run(c.name, func(t *testing.T) {
			tarball := build(t, c.entries)
			archive := seed(t, c.name, tarball)
			if c.expands > 0 {
				if got := expanded(t, tarball); got < c.expands {
					t.Fatalf("the bomb expands to %d bytes, want %d", got, c.expands)
				}
				if len(archive) > 1024 {
					t.Errorf("the bomb is %d bytes gzipped", len(archive))
				}
				t.Logf("the bomb: %d bytes gzipped, %d bytes as archive/tar reads it", len(archive), c.expands)
			}
			w := newWorld(t)
			path := filepath.Join(w.base, "archives", c.name+".tar.gz")
			if err := os.WriteFile(path, archive, 0o600); err != nil {
				t.Fatal(err)
			}
			before := treeSum(t, w.base, nil)
			s, err := Stage(context.Background(), path, "blog", w.root, corpusLimits)
			if c.want != "" {
				refused(t, err, c.want)
				sameTree(t, before, treeSum(t, w.base, nil))
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			checkStaged(t, s, corpusLimits)
			if _, err := instance.Replace(instance.Layout{Root: w.root, Name: "blog"}, s.Dir, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := s.Cleanup(); err != nil {
				t.Fatal(err)
			}
			outside := func(rel string) bool { return !under(rel, "root/blog") && !under(rel, "root/.archive") }
			for rel := range before {
				if !outside(rel) {
					delete(before, rel)
				}
			}
			sameTree(t, before, treeSum(t, w.base, outside))
			checkModes(t, filepath.Join(w.root, "blog"), c.site)
		})
	}
}

func refused(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("accepted")
	case !strings.Contains(err.Error(), want):
		t.Fatalf("refused with %q, want %q", err, want)
	case strings.ContainsAny(err.Error(), "\r\n"):
		t.Fatalf("refusal on more than one line: %q", err)
	}
	t.Logf("refused: %v", err)
}

func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// checkModes checks the modes in an instance folder: wpinit's own files never keep the
// archive's, and a site's file (index.php) has site, without set-id bits or write for others.
func checkModes(t *testing.T, dir string, site fs.FileMode) {
	t.Helper()
	for rel, want := range map[string]fs.FileMode{
		".env": 0o600, ".instance-info": 0o644, "config": 0o755 | fs.ModeDir, "config/php-8.4": 0o755 | fs.ModeDir,
		"config/php-8.4/php.ini": 0o644, "data/wordpress/index.php": site,
	} {
		fi, err := os.Lstat(filepath.Join(dir, rel))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode() &^ (fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != want || got != fi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode(), want)
		}
	}
}

// seed returns the seed file of the case, gzipped: it must hold tarball (-update writes it).
func seed(t *testing.T, name string, tarball []byte) []byte {
	t.Helper()
	path := filepath.Join(seedDir, name)
	if *update {
		if err := os.MkdirAll(seedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", gzipped(tarball)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestHostileArchives -update ./pkg/backup/ writes it)", err)
	}
	quoted, ok := strings.CutPrefix(strings.TrimSpace(string(text)), "go test fuzz v1\n[]byte(")
	archive, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if !ok || err != nil {
		t.Fatalf("%s: not a fuzz seed of one []byte: %v", path, err)
	}
	gz, err := gzip.NewReader(strings.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(gz); err != nil || !bytes.Equal(got, tarball) {
		t.Fatalf("%s is not the archive corpus() builds (%v): go test -run TestHostileArchives -update ./pkg/backup/", path, err)
	}
	return []byte(archive)
}

// expanded is what archive/tar reads from the archive's entries in all.
func expanded(t *testing.T, tarball []byte) int64 {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(tarball))
	var n int64
	for {
		if _, err := tr.Next(); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		m, err := io.Copy(io.Discard, tr)
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
}

// world is a test folder: base/root is an instances root with blog and victim, each with
// a document root; base/outside holds the file links aim at; archives go to base/archives.
type world struct{ base, root string }

func newWorld(t *testing.T) world {
	t.Helper()
	w := world{base: t.TempDir()}
	w.root = filepath.Join(w.base, "root")
	cfg, err := config.ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"blog\"\nid = 7\nport = 8007\n"+
		"[[instance]]\nname = \"victim\"\nid = 8\nport = 8008\n"), nil, config.DefaultInstances().Ports)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Instances {
		p, err := instance.Prepare(w.root, &cfg.Instances[i], instance.Options{Owner: "t"}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(p.Layout.WordPressDir(), "index.php"), "<?php echo '"+p.Layout.Name+"';\n")
		write(t, filepath.Join(p.Layout.MySQLDir(), "ibdata1"), "innodb of "+p.Layout.Name)
	}
	write(t, filepath.Join(w.base, "outside", "target"), "outside the root\n")
	if err := os.MkdirAll(filepath.Join(w.base, "archives"), 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// treeSum describes every file and folder under base (but those keep says no to): type,
// mode, owner, content hash, link target. Times are left out: a folder's changes when the
// staging folder comes and goes.
func treeSum(t *testing.T, base string, keep func(rel string) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, path)
		if keep != nil && !keep(rel) {
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:])
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, d := range before {
		if after[p] != d {
			t.Errorf("%s changed: %q -> %q", p, d, after[p])
		}
	}
	for p, d := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared: %q", p, d)
		}
	}
}

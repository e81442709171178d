package instance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
)

// TestWriteFileFollowsNoLink: a link planted at the old fixed temporary name, or at the
// file's own name, is never written through; the mode is exact whatever the umask.
func TestWriteFileFollowsNoLink(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(outside, []byte("untouched"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "php.ini")
	for _, planted := range []string{path + ".tmp", path} {
		if err := os.Symlink(outside, planted); err != nil {
			t.Fatal(err)
		}
	}
	old := syscall.Umask(0o077)
	err := atomicfile.Write(path, []byte("memory_limit = 1G\n"), 0o644)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "untouched" {
		t.Errorf("the link's target was written: %q", got)
	}
	if st, _ := os.Stat(outside); st.Mode().Perm() != 0o600 {
		t.Errorf("the link's target was chmod'ed: %v", st.Mode())
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("php.ini: %v, %v: want a regular file 0644 in place of the link", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".php.ini*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := atomicfile.Write(filepath.Join(dir, "missing", "x"), nil, 0o644); err == nil {
		t.Error("a write into a missing folder succeeded")
	}
}

// TestOwnFilesAreNotLinks: wpinit reads none of its own files through a link, and Prepare
// refuses an instance whose folders are links (dockerd would mount their targets).
func TestOwnFilesAreNotLinks(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	p := mustPrepare(t, root, in)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := p.Layout.SecretsPath()
	if err := os.Rename(secrets, filepath.Join(victim, ".env")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(victim, ".env"), secrets); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecrets(p.Layout); !errors.Is(err, errLink) {
		t.Errorf("ReadSecrets through a link: %v", err)
	}
	if _, err := Prepare(root, in, testOpts, time.Now()); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Prepare with a linked .env: %v", err)
	}
	if err := os.Remove(secrets); err != nil {
		t.Fatal(err)
	}
	wp := p.Layout.WordPressDir()
	if err := os.Rename(wp, filepath.Join(victim, "wordpress")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(victim, "wordpress"), wp); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(root, in, testOpts, time.Now()); !errors.Is(err, errLink) {
		t.Errorf("Prepare with a linked data/wordpress: %v", err)
	}
	big := filepath.Join(root, "big")
	if err := os.WriteFile(big, make([]byte, MaxOwnFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readFile(big); err == nil {
		t.Error("readFile read more than MaxOwnFile")
	}
}

// TestReplaceThenRollback: Rollback after Replace brings back the instance's own files,
// database files and .instance-info, and removes the set-aside folder.
func TestReplaceThenRollback(t *testing.T) {
	root := t.TempDir()
	p := mustPrepare(t, root, testInstance(t, ""))
	l := p.Layout
	for rel, content := range map[string]string{"data/wordpress/index.php": "current", "data/mysql/ibdata1": "current db"} {
		if err := os.WriteFile(filepath.Join(l.Dir(), rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]string{}
	for _, rel := range []string{"data/wordpress/index.php", "data/mysql/ibdata1", ".env", ".instance-info", "config/php-8.4/php.ini"} {
		b, err := os.ReadFile(filepath.Join(l.Dir(), rel))
		if err != nil {
			t.Fatal(err)
		}
		before[rel] = string(b)
	}
	staged := filepath.Join(root, ".restore-blog-1")
	for rel, content := range map[string]string{
		"data/wordpress/index.php": "restored", "config/php-8.4/php.ini": "restored ini", ".env": "DB_PASSWORD=x\n",
		".instance-info": `{"name":"blog","generated":{}}`,
	} {
		path := filepath.Join(staged, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	aside, err := Replace(l, staged, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(l.WordPressDir(), "index.php")); string(b) != "restored" {
		t.Fatalf("not replaced: %q", b)
	}
	if err := os.MkdirAll(l.MySQLDir(), 0o755); err != nil { // what the new database server made
		t.Fatal(err)
	}
	if err := Rollback(l, aside, staged); err != nil {
		t.Fatal(err)
	}
	for rel, want := range before {
		if b, err := os.ReadFile(filepath.Join(l.Dir(), rel)); err != nil || string(b) != want {
			t.Errorf("%s after rollback = %q, %v; want %q", rel, b, err, want)
		}
	}
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Errorf("set-aside folder still there: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(staged, "data/wordpress/index.php")); string(b) != "restored" {
		t.Errorf("the restored files did not go to the discard folder: %q", b)
	}
}

// TestReplaceTakesTheArchivesOrigin: a restore over a folder whose start from a template was
// cut off leaves no unfinished start behind (the next pass would reset the restored data):
// the origin (from, seeded, templated) is the archive's.
func TestReplaceTakesTheArchivesOrigin(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	p := mustPrepare(t, root, in)
	if err := SetTemplated(p.Layout, "k1"); err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(root, ".restore-blog-1")
	for rel, content := range map[string]string{
		"data/wordpress/index.php": "restored", "config/php-8.4/php.ini": "restored ini", ".env": "DB_PASSWORD=x\n",
		".instance-info": `{"name":"blog","generated":{}}`,
	} {
		path := filepath.Join(staged, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeT(t, path, content)
	}
	if _, err := Replace(p.Layout, staged, time.Now()); err != nil {
		t.Fatal(err)
	}
	if mustPrepare(t, root, in).TemplateUnfinished() {
		t.Error("after the restore, the folder is still an unfinished start from a template")
	}
}

package backup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// prepared makes an instance folder under a fresh root, with a file in its document root.
func prepared(t *testing.T) instance.Layout {
	t.Helper()
	root := t.TempDir()
	cfg, err := config.ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"blog\"\nid = 7\nport = 8007\n"), nil, config.DefaultInstances().Ports)
	if err != nil {
		t.Fatal(err)
	}
	p, err := instance.Prepare(root, &cfg.Instances[0], instance.Options{Owner: "t"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p.Layout.WordPressDir(), "wp-content", "uploads", "a.txt"), "upload\n")
	if err := os.Symlink("uploads/a.txt", filepath.Join(p.Layout.WordPressDir(), "wp-content", "link")); err != nil {
		t.Fatal(err)
	}
	return p.Layout
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const dumpText = "-- dump\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n"

func dumper(s string) Dumper {
	return func(_ context.Context, w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestCreateAndStage(t *testing.T) {
	l := prepared(t)
	now := time.Date(2026, 11, 28, 9, 8, 7, 0, time.UTC)
	res, err := Create(context.Background(), l, Dir(l.Root), now, dumper(dumpText))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.Path) != "blog-20261128-090807.tar.gz" || res.DumpBytes != int64(len(dumpText)) || res.Files < 8 {
		t.Fatalf("result = %+v", res)
	}
	if st, _ := os.Stat(res.Path); st.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v: it holds the secrets", st.Mode())
	}
	left, _ := filepath.Glob(filepath.Join(Dir(l.Root), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if _, err := Create(context.Background(), l, Dir(l.Root), now, dumper(dumpText)); err == nil {
		t.Error("an existing archive must never be replaced")
	}
	held, _ := instance.Held(l.Root)
	if _, ok := held[instance.BackupsDir]; ok || len(held) != 1 {
		t.Errorf("held = %v: the backups folder is not an instance", held)
	}

	s, err := Stage(context.Background(), res.Path, "blog", l.Root, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cleanup()
	if s.Manifest.Instance != "blog" || s.Manifest.Port != 8007 || s.Manifest.DB != "mariadb 11.8" {
		t.Errorf("manifest = %+v", s.Manifest)
	}
	for rel, want := range map[string]string{
		DumpName: dumpText,
		"data/wordpress/wp-content/uploads/a.txt": "upload\n",
		".env":                   mustRead(t, l.SecretsPath()),
		"config/php-8.4/php.ini": mustRead(t, filepath.Join(l.Dir(), "config/php-8.4/php.ini")),
	} {
		if got := mustRead(t, filepath.Join(s.Dir, rel)); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(s.Dir, "data/wordpress/wp-content/link")); err != nil || target != "uploads/a.txt" {
		t.Errorf("symlink = %q, %v", target, err)
	}
	if st, _ := os.Stat(filepath.Join(s.Dir, ".env")); st.Mode().Perm() != 0o600 {
		t.Errorf(".env restored with mode %v", st.Mode())
	}
	list, err := List(Dir(l.Root), "blog")
	if err != nil || len(list) != 1 || !list[0].When.Equal(now) || list[0].Bytes == 0 {
		t.Errorf("list = %+v, %v", list, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateFailingDumpLeavesNothing(t *testing.T) {
	l := prepared(t)
	boom := errors.New("server gone")
	_, err := Create(context.Background(), l, Dir(l.Root), time.Now(), func(context.Context, io.Writer) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(Dir(l.Root)); len(entries) != 0 {
		t.Errorf("left in backups: %v", entries)
	}
}

func TestStageRefusesCorruptArchives(t *testing.T) {
	l := prepared(t)
	res, err := Create(context.Background(), l, Dir(l.Root), time.Now(), dumper(strings.Repeat(dumpText, 1000)))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(res.Path)
	flipped := append([]byte{}, good...)
	flipped[len(flipped)/2] ^= 0xff
	cases := map[string][]byte{
		"truncated":    good[:len(good)*2/3],
		"flipped byte": flipped,
		"not gzip":     []byte("hello"),
		"empty":        nil,
		"bad checksum": append(append([]byte{}, good[:len(good)-8]...), 0, 0, 0, 0, 0, 0, 0, 0),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.tar.gz")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Stage(context.Background(), path, "blog", l.Root, DefaultLimits); err == nil {
				t.Fatal("a corrupt archive was accepted")
			}
			assertNoStaging(t, l.Root)
		})
	}
	t.Run("another instance", func(t *testing.T) {
		_, err := Stage(context.Background(), res.Path, "shop", l.Root, DefaultLimits)
		if err == nil || !strings.Contains(err.Error(), `holds instance "blog", not "shop"`) {
			t.Fatalf("err = %v", err)
		}
		assertNoStaging(t, l.Root)
	})
}

func assertNoStaging(t *testing.T, root string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(root, ".restore-*")); len(left) != 0 {
		t.Errorf("staging left: %v", left)
	}
}

func TestStageThenReplace(t *testing.T) {
	l := prepared(t)
	res, err := Create(context.Background(), l, Dir(l.Root), time.Now(), dumper(dumpText))
	if err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(l.WordPressDir(), "wp-content", "uploads", "a.txt")
	write(t, upload, "changed after the backup\n")
	write(t, filepath.Join(l.MySQLDir(), "ibdata1"), "innodb")
	s, err := Stage(context.Background(), res.Path, "blog", l.Root, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cleanup()
	aside, err := instance.Replace(l, s.Dir, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, upload); got != "upload\n" {
		t.Errorf("restored upload = %q", got)
	}
	if got := mustRead(t, filepath.Join(aside, "data", "wordpress", "wp-content", "uploads", "a.txt")); got != "changed after the backup\n" {
		t.Errorf("set-aside upload = %q", got)
	}
	if got := mustRead(t, filepath.Join(aside, "data", "mysql", "ibdata1")); got != "innodb" {
		t.Errorf("set-aside database files = %q", got)
	}
	if _, err := os.Stat(l.MySQLDir()); !os.IsNotExist(err) {
		t.Errorf("data/mysql must be empty for the dump to be imported into a new server: %v", err)
	}
	info, err := instance.ReadInfo(l)
	if err != nil || info.ID != 7 || info.Port != 8007 || len(info.Generated) != 4 {
		t.Errorf("info after replace = %+v, %v", info, err)
	}
	if list, _ := instance.ListArchived(l.Root, "blog"); len(list) != 1 || list[0].Path != aside {
		t.Errorf("archived = %+v", list)
	}
}

func TestKeepFree(t *testing.T) {
	for size, want := range map[int64]int64{
		4 << 30:   1 << 30, // 5 % is less than 1 GiB
		20 << 30:  1 << 30,
		100 << 30: 5 << 30,
		1 << 40:   1 << 40 / 20,
	} {
		if got := KeepFree(size); got != want {
			t.Errorf("KeepFree(%d) = %d, want %d", size, got, want)
		}
	}
	n, why, err := budget(t.TempDir(), DefaultLimits)
	if err != nil || n < 0 || !strings.Contains(why, "kept free") {
		t.Errorf("budget = %d, %q, %v", n, why, err)
	}
	if n, why, _ := budget(t.TempDir(), Limits{Total: 1}); n != 1 || why != "the limit of this restore" {
		t.Errorf("budget with Total 1 = %d, %q", n, why)
	}
}

func TestLinkInside(t *testing.T) {
	links := map[string]bool{"data/wordpress/here": true, "data/wordpress/sub/up": true}
	isLink := func(p string) bool { return links[p] }
	for _, tt := range []struct {
		name, target string
		inside       bool
	}{
		{"data/wordpress/a", "index.php", true},
		{"data/wordpress/a", ".", true},
		{"data/wordpress/sub/a", "../index.php", true},
		{"data/wordpress/sub/a", "./../sub/./b", true},
		{"data/wordpress/a", "here/index.php", true}, // through a link, no step back
		{"data/wordpress/a", "", false},
		{"data/wordpress/a", "/etc/passwd", false},
		{"data/wordpress/a", "..", false},
		{"data/wordpress/a", "../mysql", false},
		{"data/wordpress/sub/a", "../../wordpress/index.php", false}, // steps out on the way
		{"data/wordpress/a", "here/../mysql", false},                 // ".." after a link
		{"data/wordpress/a", "sub/up/../x", false},
	} {
		if got := linkInside(tt.name, tt.target, isLink); got != tt.inside {
			t.Errorf("linkInside(%q, %q) = %v, want %v", tt.name, tt.target, got, tt.inside)
		}
	}
}

// TestSweep: stale staging folders and backup temporary files go, those in use, archives
// and what links point to stay.
func TestSweep(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	write(t, filepath.Join(outside, "keep"), "x")
	write(t, filepath.Join(root, ".restore-blog-1", "data", "wordpress", "a"), "stale")
	write(t, filepath.Join(Dir(root), ".blog-1.sql.tmp"), "stale dump")
	write(t, filepath.Join(Dir(root), ".blog-2.tar.gz.tmp"), "stale archive")
	write(t, filepath.Join(Dir(root), "blog-20261128-090807.tar.gz"), "an archive")
	write(t, filepath.Join(root, "blog", ".env"), "A=1\n")
	if err := os.Symlink(outside, filepath.Join(root, ".restore-link")); err != nil {
		t.Fatal(err)
	}
	busy, err := createTemp(Dir(root), ".blog-*"+dumpSuffix)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close(); _ = done(busy.Name()) }()
	removed, err := Sweep(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, ".restore-blog-1"), filepath.Join(root, ".restore-link"),
		filepath.Join(Dir(root), ".blog-1.sql.tmp"), filepath.Join(Dir(root), ".blog-2.tar.gz.tmp")}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range []string{busy.Name(), filepath.Join(outside, "keep"), filepath.Join(Dir(root), "blog-20261128-090807.tar.gz"), filepath.Join(root, "blog", ".env")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if removed, _ := Sweep(filepath.Join(base, "none")); len(removed) != 0 {
		t.Errorf("a missing root: removed %v", removed)
	}
}

func TestResolve(t *testing.T) {
	for file, want := range map[string]string{
		"blog-20261128-090807.tar.gz": "/r/backups/blog-20261128-090807.tar.gz",
		"/tmp/x.tar.gz":               "/tmp/x.tar.gz",
		"/tmp/../x.tar.gz":            "/x.tar.gz",
		"./x.tar.gz":                  "", // relative: the client makes it absolute
		"a/x.tar.gz":                  "",
		"..":                          "",
		"":                            "",
	} {
		got, err := Resolve("/r/backups", file)
		if got != want || (want == "") != errors.Is(err, ErrFileName) {
			t.Errorf("Resolve(%q) = %q, %v; want %q", file, got, err, want)
		}
	}
}

package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
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

	s, err := Stage(context.Background(), res.Path, "blog", l.Root)
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
	if Resolve(Dir(l.Root), "x.tar.gz") != filepath.Join(l.Root, "backups", "x.tar.gz") || Resolve("/b", "/tmp/x.tar.gz") != "/tmp/x.tar.gz" {
		t.Error("Resolve")
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
			if _, err := Stage(context.Background(), path, "blog", l.Root); err == nil {
				t.Fatal("a corrupt archive was accepted")
			}
			assertNoStaging(t, l.Root)
		})
	}
	t.Run("another instance", func(t *testing.T) {
		_, err := Stage(context.Background(), res.Path, "shop", l.Root)
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

// craft writes an archive with a valid manifest followed by the given entries.
func craft(t *testing.T, entries ...tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	m := `{"format":1,"instance":"blog","dump_bytes":0}`
	entries = append([]tar.Header{{Name: ManifestName, Typeflag: tar.TypeReg, Size: int64(len(m)), Mode: 0o600}}, entries...)
	for i, h := range entries {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			_, _ = io.WriteString(tw, m)
		} else if h.Size > 0 {
			_, _ = tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	_ = tw.Close()
	_ = gz.Close()
	path := filepath.Join(t.TempDir(), "crafted.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStageRefusesEntriesOutsideTheInstance(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	for name, entries := range map[string][]tar.Header{
		"dot-dot":        {{Name: "data/wordpress/../../outside", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"absolute":       {{Name: outside, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"not a part":     {{Name: "data/mysql/ibdata1", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"through a link": {{Name: "data/wordpress/l", Typeflag: tar.TypeSymlink, Linkname: root, Mode: 0o777}, {Name: "data/wordpress/l/outside", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"over a link":    {{Name: "data/wordpress/l", Typeflag: tar.TypeSymlink, Linkname: outside, Mode: 0o777}, {Name: "data/wordpress/l", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"device":         {{Name: "data/wordpress/dev", Typeflag: tar.TypeChar, Mode: 0o644}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Stage(context.Background(), craft(t, entries...), "blog", root)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if _, err := os.Lstat(outside); err == nil {
				t.Fatal("an entry was written outside the staging folder")
			}
			assertNoStaging(t, root)
		})
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
	s, err := Stage(context.Background(), res.Path, "blog", l.Root)
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
	if err != nil || info.ID != 7 || info.Port != 8007 || len(info.Generated) != 3 {
		t.Errorf("info after replace = %+v, %v", info, err)
	}
	if list, _ := instance.ListArchived(l.Root, "blog"); len(list) != 1 || list[0].Path != aside {
		t.Errorf("archived = %+v", list)
	}
}

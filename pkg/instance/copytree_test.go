package instance

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	big := make([]byte, 5<<20+123)
	_, _ = rand.Read(big)
	files := map[string][]byte{"a.txt": []byte("a"), "sub/b.php": []byte("<?php"), "sub/deep/big.bin": big}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../a.txt", filepath.Join(src, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	defer func(v int64) { chunkMin = v }(chunkMin)
	chunkMin = 1 << 20 // big.bin is copied in ranges side by side

	dst := filepath.Join(t.TempDir(), "copy")
	if err := CopyTree(src, dst, TreeRules{Links: true}); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, want %d (%v)", name, len(got), len(data), err)
		}
		if fi, _ := os.Stat(filepath.Join(dst, name)); fi == nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v", name, fi)
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "sub", "link")); err != nil || target != "../a.txt" {
		t.Errorf("link: %q %v", target, err)
	}
	if err := CopyTree(src, dst, TreeRules{Links: true}); err == nil {
		t.Error("a copy over an existing folder was made")
	}
}

func TestCopyTreeRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		make  func(dir string) error
		rules TreeRules
	}{
		"a link out of the folder": {func(d string) error { return os.Symlink("../../etc/passwd", filepath.Join(d, "x")) }, TreeRules{Links: true}},
		"an absolute link":         {func(d string) error { return os.Symlink("/etc/passwd", filepath.Join(d, "x")) }, TreeRules{Links: true}},
		"a link where none may be": {func(d string) error { return os.Symlink("y", filepath.Join(d, "x")) }, TreeRules{}},
		"a fifo":                   {func(d string) error { return syscall.Mkfifo(filepath.Join(d, "x"), 0o600) }, TreeRules{Links: true}},
		"a file too large":         {func(d string) error { return os.WriteFile(filepath.Join(d, "x"), make([]byte, 10), 0o600) }, TreeRules{MaxFile: 9}},
	} {
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			if err := tc.make(src); err != nil {
				t.Fatal(err)
			}
			err := CopyTree(src, filepath.Join(t.TempDir(), "copy"), tc.rules)
			if !errors.Is(err, ErrTreeEntry) {
				t.Errorf("copy: %v, want ErrTreeEntry", err)
			}
		})
	}
}

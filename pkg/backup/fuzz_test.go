package backup

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// FuzzStage feeds Stage archives: the corpus's gzipped seeds (testdata/fuzz/FuzzStage) and
// its tarballs, and any input that is not gzip, wrapped in gzip here (stored, not
// compressed), so that mutations reach the tar structure and not only gzip's checksum.
// Early on, most of a run goes to minimizing the new inputs it finds: a short
// -fuzzminimizetime (3 s, scripts/fuzz.sh) leaves more of it to fuzzing. Whatever the input, Stage either refuses it with one line and
// leaves nothing behind, or stages only what a backup may hold: each name of its kind,
// wpinit's own files with its modes, no set-id bits or write for others, links resolving
// inside data/wordpress (as os.Root resolves them), and no more bytes than the limits.
func FuzzStage(f *testing.F) {
	for _, c := range corpus() {
		if tarball := build(f, c.entries); len(tarball) <= 64<<10 { // big inputs make slow mutations
			f.Add(tarball)
		}
	}
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			data = stored(data)
		}
		root, err := os.MkdirTemp(dir, "root-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(root)
		archive := root + ".tar.gz"
		defer os.Remove(archive)
		if err := os.WriteFile(archive, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Stage(context.Background(), archive, "blog", root, corpusLimits)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("refusal on more than one line: %q", err)
			}
			if left, _ := os.ReadDir(root); len(left) != 0 {
				t.Fatalf("refused (%v), but left %v", err, left)
			}
			return
		}
		defer s.Cleanup()
		checkStaged(t, s, corpusLimits)
	})
}

// stored wraps data in gzip without compressing it: all the fuzz target needs, at a
// fraction of the cost of deflate (and of its megabyte of tables) per run.
func stored(data []byte) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	_, _ = gz.Write(data)
	_ = gz.Close()
	return buf.Bytes()
}

// fuzzDir is where the fuzz target stages: in memory (/dev/shm) when the machine has it,
// since creating and deleting files by the thousand on ext4 stalls in its inode allocator
// (80 runs a minute here, against 4 000 a second in memory).
func fuzzDir(f *testing.F) string {
	dir, err := os.MkdirTemp("/dev/shm", "wp-dind-fuzz-")
	if err != nil {
		return f.TempDir()
	}
	f.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// checkStaged checks what a staging folder holds against the rules, with its own means.
func checkStaged(t *testing.T, s *Staged, lim Limits) {
	t.Helper()
	wp, err := os.OpenRoot(filepath.Join(s.Dir, instance.PartWordPress))
	if err != nil {
		t.Fatal(err)
	}
	defer wp.Close()
	var total int64
	err = filepath.WalkDir(s.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Dir, path)
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		total += fi.Size()
		if msg := stagedProblem(rel, fi.Mode()); msg != "" {
			t.Errorf("%s (%v): %s", rel, fi.Mode(), msg)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			inside, _ := filepath.Rel(filepath.Join(s.Dir, instance.PartWordPress), path)
			_, err := wp.Stat(inside)
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENOTDIR) {
				target, _ := os.Readlink(path)
				t.Errorf("link %s -> %s: %v", rel, target, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lim.Total > 0 && total > lim.Total {
		t.Errorf("staged %d bytes, over the limit of %d", total, lim.Total)
	}
}

// stagedProblem says what is wrong with the staged entry rel of mode m, "" when nothing.
func stagedProblem(rel string, m fs.FileMode) string {
	own := map[string]fs.FileMode{".env": 0o600, ".instance-info": 0o644, DumpName: 0o600}
	switch {
	case rel == "." || rel == "data":
		if !m.IsDir() {
			return "not a folder"
		}
	case own[rel] != 0:
		if m != own[rel] {
			return "not a file of mode " + own[rel].String()
		}
	case under(rel, instance.PartConfig):
		if m != 0o644 && m != fs.ModeDir|0o755 {
			return "not a folder 0755 or a file 0644"
		}
	case under(rel, instance.PartWordPress) && m&fs.ModeSymlink != 0:
		if rel == instance.PartWordPress {
			return "a link"
		}
	case under(rel, instance.PartWordPress):
		if m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || m.Perm()&0o002 != 0 {
			return "set-id, sticky or writable by others"
		}
		if rel == instance.PartWordPress && !m.IsDir() || !m.IsDir() && !m.IsRegular() {
			return "not of a kind a backup holds"
		}
	default:
		return "not part of a backup"
	}
	return ""
}

package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bomb is a gzipped tar holding one file of n zero bytes: a few hundred KiB on disk.
func bomb(t *testing.T, n int64) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zeros)) {
		if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
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

// manifestOf is a manifest.json of images, each with its tags.
func manifestOf(tags ...[]string) (manifest []byte, configs map[string][]byte) {
	configs = map[string][]byte{}
	var entries []string
	for i, ts := range tags {
		cfg := fmt.Sprintf("%064x.json", i+1)
		configs[cfg] = []byte("{}")
		quoted := make([]string, len(ts))
		for j, tag := range ts {
			quoted[j] = `"` + tag + `"`
		}
		entries = append(entries, `{"Config":"`+cfg+`","RepoTags":[`+strings.Join(quoted, ",")+`],"Layers":[]}`)
	}
	return []byte("[" + strings.Join(entries, ",") + "]"), configs
}

func tagsOf(repo string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s:%d", repo, i)
	}
	return out
}

func archiveWith(t *testing.T, manifest []byte, files map[string][]byte) []byte {
	t.Helper()
	all := map[string][]byte{"manifest.json": manifest}
	for name, b := range files {
		all[name] = b
	}
	return gzipped(t, tarOf(t, all))
}

// TestReadArchiveLimits: each bound of limits.go refuses its tarball with ErrLimit (not as
// corrupt), saying which bound and by how much.
func TestReadArchiveLimits(t *testing.T) {
	tags, tagCfgs := manifestOf(tagsOf("wp-php", 200_000))
	refs, refCfgs := manifestOf(tagsOf("a", 60), tagsOf("b", 60), tagsOf("c", 60), tagsOf("d", 60), tagsOf("e", 60))
	one, oneCfg := manifestOf([]string{"x:1"})
	index := `{"manifests":[` + strings.TrimSuffix(strings.Repeat(`{"digest":"sha256:1","annotations":{}},`, 300), ",") + `]}`
	indexCfgs := map[string][]byte{"index.json": []byte(index)}
	for k, v := range oneCfg {
		indexCfgs[k] = v
	}
	entries := map[string][]byte{}
	for i := 0; i <= MaxEntries; i++ {
		entries[fmt.Sprintf("e%06d", i)] = nil
	}
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"gzip bomb", bomb(t, MinInflate+(16<<20)), "decompresses to more than 67108864 (at most 32 times its size, and 64 MiB)"},
		{"200000 tags", archiveWith(t, tags, tagCfgs), "manifest.json image 0 has 200000 tags, more than 64"},
		{"300 references", archiveWith(t, refs, refCfgs), "manifest.json names 300 images and tags, more than 256"},
		{"300 index entries", archiveWith(t, one, indexCfgs), "index.json lists 300 manifests, more than 256"},
		{"too many entries", gzipped(t, tarOf(t, entries)), "more than 100000 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadArchive(context.Background(), writeTemp(t, "x.tar.gz", tt.content))
			if !errors.Is(err, ErrLimit) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrLimit saying %q", err, tt.want)
			}
			t.Logf("%d bytes: %v", len(tt.content), err)
		})
	}
}

// cancelOnRead cancels its context at the first read: the reading must stop at the next one.
type cancelOnRead struct {
	*bytes.Reader
	cancel context.CancelFunc
	reads  int
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	c.reads++
	c.cancel()
	return c.Reader.Read(p)
}

// TestReadArchiveCancel: the check stops when its context ends, in a gzip stream (between
// two reads of decompressed data, not at its end) as in a plain tar.
func TestReadArchiveCancel(t *testing.T) {
	for name, content := range map[string][]byte{
		"gzip":  bomb(t, MinInflate/2),
		"plain": readFile(t, filepath.Join("testdata", "docker-20.10.tar")),
	} {
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelOnRead{Reader: bytes.NewReader(content), cancel: cancel}
		_, err := readTarball(ctx, r, int64(len(content)))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadArchive(ctx, writeTemp(t, "b.tar.gz", bomb(t, 1<<20))); !errors.Is(err, context.Canceled) || errors.Is(err, ErrCorrupt) {
		t.Errorf("cancelled ReadArchive: %v, want context.Canceled and not corrupt", err)
	}
}

// TestLoaderRefusesOverLimits: tarballs over a bound fail alone, each with its reason in
// Status, and are never inspected; the good one beside them is checked and skipped.
func TestLoaderRefusesOverLimits(t *testing.T) {
	dir := t.TempDir()
	good := readFile(t, filepath.Join("testdata", "docker-20.10.tar"))
	a, err := ReadArchive(context.Background(), filepath.Join("testdata", "docker-20.10.tar"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, img := range a.Images {
		for _, tag := range img.RepoTags {
			ids[tag] = img.ID
		}
	}
	tags, cfgs := manifestOf(tagsOf("wp-php", 200_000))
	for name, b := range map[string][]byte{"good.tar": good, "bomb.tar.gz": bomb(t, MinInflate+(1<<20)), "tags.tar.gz": archiveWith(t, tags, cfgs)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	api := &countingAPI{ImageLoader: inspectAPI{ids: ids}}
	_, st := runLoader(t, dir, api, &logBuffer{tb: t})
	wantStates(t, st, map[string]State{"good.tar": Skipped, "bomb.tar.gz": Failed, "tags.tar.gz": Failed})
	tb := byName(st)
	for name, want := range map[string]string{"bomb.tar.gz": "decompresses to more than", "tags.tar.gz": "has 200000 tags, more than 64"} {
		if !strings.Contains(tb[name].Error, ErrLimit.Error()) || !strings.Contains(tb[name].Error, want) {
			t.Errorf("%s: error %q, want %q", name, tb[name].Error, want)
		}
	}
	if n := api.inspects.Load(); int(n) != len(a.Refs()) {
		t.Errorf("%d inspects, want %d (the good tarball's tags only)", n, len(a.Refs()))
	}
}

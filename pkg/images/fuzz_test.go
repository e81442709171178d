package images

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadTarball feeds any bytes, as a tarball on disk would hold them (plain or gzip), to
// the manifest reader behind the skip check: it must answer, an Archive or an error, and an
// Archive must be within the bounds of limits.go with an image ID for every image.
//
// Seeds: the testdata tarballs, plain and gzipped, and testdata/fuzz/FuzzReadTarball/: a gzipped
// tar whose manifest.json gives one image 200 000 tags ("t:1" repeated, 1.9 KB compressed),
// and the first 4 KiB of a gzip bomb (a tar of 64 MiB of zeros at gzip's best compression).
func FuzzReadTarball(f *testing.F) {
	for _, name := range []string{"docker-20.10.tar", "docker-26.tar", "docker-26.1.5.tar"} {
		b := readFile(f, filepath.Join("testdata", name))
		f.Add(b)
		f.Add(gzipped(f, b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := readTarball(context.Background(), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if len(a.Images) == 0 || len(a.Refs()) > MaxRefs {
			t.Fatalf("%d images, %d references", len(a.Images), len(a.Refs()))
		}
		for _, img := range a.Images {
			if !strings.HasPrefix(img.ID, "sha256:") || len(img.RepoTags) > MaxTagsPerImage {
				t.Fatalf("image %+v", img)
			}
		}
	})
}

package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/distribution/reference"
)

var update = flag.Bool("update", false, "rewrite testdata/docker-26.tar")

// ociImage is one image for writeOCIArchive: a single layer holding files.
type ociImage struct {
	Tag    string            // familiar reference, "name:tag"
	Files  map[string][]byte // path in the layer → content
	Labels map[string]string
}

// fixedTime keeps generated archives byte-identical from run to run.
var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// writeOCIArchive writes what `docker save` writes since Docker 25 (moby's
// image/tarexport/save.go, classic image store): an OCI image layout (oci-layout, index.json
// whose manifests carry io.containerd.image.name and org.opencontainers.image.ref.name,
// blobs/sha256/) plus the manifest.json and repositories files older engines read. It returns
// the image IDs (config digests), in order.
func writeOCIArchive(t *testing.T, w io.Writer, images []ociImage) []string {
	t.Helper()
	tw := tar.NewWriter(w)
	blobs := map[string][]byte{}
	var ids []string
	var manifest []map[string]any
	var descs []map[string]any
	repos := map[string]map[string]string{}
	for _, img := range images {
		layer := tarOf(t, img.Files)
		layerHex := sha(layer)
		config := mustJSON(t, map[string]any{
			"architecture": "amd64", "os": "linux", "created": fixedTime,
			"config":  map[string]any{"Labels": img.Labels},
			"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
			"history": []map[string]any{{"created": fixedTime, "created_by": "wp-dind test fixture"}},
		})
		configHex := sha(config)
		man := mustJSON(t, map[string]any{
			"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json",
				"digest": "sha256:" + configHex, "size": len(config)},
			"layers": []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar",
				"digest": "sha256:" + layerHex, "size": len(layer)}},
		})
		manHex := sha(man)
		blobs[layerHex], blobs[configHex], blobs[manHex] = layer, config, man
		named, err := reference.ParseNormalizedNamed(img.Tag)
		if err != nil {
			t.Fatal(err)
		}
		tagged := named.(reference.Tagged)
		descs = append(descs, map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + manHex, "size": len(man),
			"annotations": map[string]string{
				"io.containerd.image.name":          named.String(),
				"org.opencontainers.image.ref.name": tagged.Tag(),
			},
		})
		manifest = append(manifest, map[string]any{
			"Config": "blobs/sha256/" + configHex, "RepoTags": []string{img.Tag},
			"Layers": []string{"blobs/sha256/" + layerHex},
		})
		repos[reference.FamiliarName(named)] = map[string]string{tagged.Tag(): layerHex}
		ids = append(ids, "sha256:"+configHex)
	}
	writeDir(t, tw, "blobs/")
	writeDir(t, tw, "blobs/sha256/")
	for _, hexName := range sortedKeys(blobs) {
		writeFile(t, tw, "blobs/sha256/"+hexName, blobs[hexName])
	}
	writeFile(t, tw, "index.json", mustJSON(t, map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs,
	}))
	writeFile(t, tw, "manifest.json", mustJSON(t, manifest))
	writeFile(t, tw, "oci-layout", []byte(`{"imageLayoutVersion": "1.0.0"}`))
	writeFile(t, tw, "repositories", mustJSON(t, repos))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// tarOf makes a layer: an uncompressed tar of files.
func tarOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, name := range sortedKeys(files) {
		writeFile(t, tw, name, files[name])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeDir(t *testing.T, tw *tar.Writer, name string) {
	t.Helper()
	h := &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: fixedTime}
	if err := tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, tw *tar.Writer, name string, data []byte) {
	t.Helper()
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: fixedTime}
	if err := tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// fixture26 is the committed testdata/docker-26.tar: two images in Docker 25+'s layout.
var fixture26 = []ociImage{
	{Tag: "wpdind-fixture:26", Files: map[string][]byte{"etc/wpdind-fixture": []byte("docker 26 layout, image 1\n")}},
	{Tag: "example.org/wp/second:1.0", Files: map[string][]byte{"etc/wpdind-fixture": []byte("docker 26 layout, image 2\n")}},
}

// TestFixture26UpToDate regenerates testdata/docker-26.tar with -update, and otherwise checks
// the committed file is what the generator writes.
func TestFixture26UpToDate(t *testing.T) {
	var b bytes.Buffer
	writeOCIArchive(t, &b, fixture26)
	p := filepath.Join("testdata", "docker-26.tar")
	if *update {
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run TestFixture26UpToDate -update)", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("testdata/docker-26.tar differs from the generator's output (run with -update)")
	}
}

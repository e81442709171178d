package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadArchiveDocker2010(t *testing.T) {
	// testdata/docker-20.10.tar: `docker save` by dockerd 20.10.24 of an imported image.
	a, err := ReadArchive(context.Background(), filepath.Join("testdata", "docker-20.10.tar"))
	if err != nil {
		t.Fatal(err)
	}
	want := Archive{Images: []ArchiveImage{{
		ID:       "sha256:24a34dc540dacf761c256e44b5195d67ea97deefd765f9c67030259bb572da2a",
		RepoTags: []string{"wpdind-fixture:20.10"},
	}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
}

func TestReadArchiveDocker26(t *testing.T) {
	// testdata/docker-26.tar: Docker 25+'s OCI layout, written by writeOCIArchive.
	a, err := ReadArchive(context.Background(), filepath.Join("testdata", "docker-26.tar"))
	if err != nil {
		t.Fatal(err)
	}
	want := Archive{Images: []ArchiveImage{
		{
			ID:       "sha256:feef2e102ffcea0790c01d3c3e8ed3f1f747d9f23d369dec813431377b6b3820",
			RepoTags: []string{"wpdind-fixture:26"},
			AltIDs:   map[string]string{"wpdind-fixture:26": "sha256:8e4210eb48f49a4ae00fab079b1317972ce0ef9cd7c4d0ea8fd2388618b3635d"},
		},
		{
			ID:       "sha256:dd68d717617ec98a1fa0d74ae6111cff4e759b001c0dc7a284d4fcff8c208f7b",
			RepoTags: []string{"example.org/wp/second:1.0"},
			AltIDs:   map[string]string{"example.org/wp/second:1.0": "sha256:f94f284ec5d1550b1c5088656971db415ef6ea578dc438e7b6f9999a29c33483"},
		},
	}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
	if got := a.Refs(); !reflect.DeepEqual(got, []string{"wpdind-fixture:26", "example.org/wp/second:1.0"}) {
		t.Errorf("Refs() = %v", got)
	}
}

func TestReadArchiveDocker2615Real(t *testing.T) {
	// testdata/docker-26.1.5.tar: `docker save` by a real dockerd 26.1.5 (Debian trixie's
	// docker.io, run nested here), two imported images; its layout is the one
	// writeOCIArchive writes, plus LayerSources and legacy v1 configs.
	a, err := ReadArchive(context.Background(), filepath.Join("testdata", "docker-26.1.5.tar"))
	if err != nil {
		t.Fatal(err)
	}
	want := Archive{Images: []ArchiveImage{
		{
			ID:       "sha256:b3ff43a2b2b527d28d27e423ccccc213a8eab9e8c50b1e13bbf0398b8a9add68",
			RepoTags: []string{"wpdind-fixture:26"},
			AltIDs:   map[string]string{"wpdind-fixture:26": "sha256:40379c0d385553ae78ebacfea1fcb05b5984c6053f2e7fdcc9b5077c17c62ddc"},
		},
		{
			ID:       "sha256:5aa2a37a7ee27aa1083924673c53c6ea0583af8373ba4cebbbd907c64f175ee5",
			RepoTags: []string{"example.org/wp/second:1.0"},
			AltIDs:   map[string]string{"example.org/wp/second:1.0": "sha256:978c4caf170ce4d630ef79fbc6da04f08a0b8b67c49054d3f39b0ba9a9f5e4c5"},
		},
	}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
}

func TestReadArchiveGzip(t *testing.T) {
	for _, name := range []string{"docker-20.10.tar", "docker-26.tar", "docker-26.1.5.tar"} {
		plain, err := ReadArchive(context.Background(), filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		// The name says .tar: compression is found from the content, as dockerd does.
		p := writeTemp(t, name, gzipped(t, readFile(t, filepath.Join("testdata", name))))
		got, err := ReadArchive(context.Background(), p)
		if err != nil || !reflect.DeepEqual(got, plain) {
			t.Errorf("%s gzipped: %+v, %v; want %+v", name, got, err, plain)
		}
	}
}

func TestReadArchiveCorrupt(t *testing.T) {
	good := readFile(t, filepath.Join("testdata", "docker-20.10.tar"))
	gz := gzipped(t, good)
	tests := map[string][]byte{
		"empty":          nil,
		"garbage":        bytes.Repeat([]byte("not a tar archive, just text. "), 100),
		"truncated-half": good[:len(good)/2],
		"truncated-body": good[:1000],
		"gzip-truncated": gz[:len(gz)-10],
		"no-manifest":    tarOf(t, map[string][]byte{"repositories": []byte("{}")}),
		"missing-layer": tarOf(t, map[string][]byte{
			"manifest.json":                   []byte(`[{"Config":"` + strings.Repeat("a", 64) + `.json","RepoTags":["x:1"],"Layers":["l/layer.tar"]}]`),
			strings.Repeat("a", 64) + ".json": []byte("{}"),
		}),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadArchive(context.Background(), writeTemp(t, name+".tar", content))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestParseArchiveErrors(t *testing.T) {
	hexID := strings.Repeat("b", 64)
	tests := map[string]string{
		"not json":        `{`,
		"empty list":      `[]`,
		"config not hash": `[{"Config":"config.json","RepoTags":["x:1"]}]`,
		"sha512 blob":     `[{"Config":"blobs/sha512/` + hexID + `","RepoTags":["x:1"]}]`,
		"bad tag":         `[{"Config":"` + hexID + `.json","RepoTags":["UPPER:case"]}]`,
	}
	for name, manifest := range tests {
		if _, err := parseArchive([]byte(manifest), nil, nil); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := parseArchive([]byte(`[{"Config":"`+hexID+`.json"}]`), []byte(`{`), nil); err == nil {
		t.Error("bad index.json: want an error")
	}
}

func TestParseArchiveUntagged(t *testing.T) {
	hexID := strings.Repeat("c", 64)
	a, err := parseArchive([]byte(`[{"Config":"`+hexID+`.json","RepoTags":null,"Layers":[]}]`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Refs(); !reflect.DeepEqual(got, []string{"sha256:" + hexID}) {
		t.Errorf("an untagged image is referred to by ID: %v", got)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

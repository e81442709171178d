package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The first pass loads what is missing, the second loads nothing: no ImageLoad at all.
func TestLoaderLoadsThenSkips(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	ids := map[string]string{}
	for _, tag := range []string{"a", "b1", "b2", "c"} {
		ids[tag] = e.image(tag, 64<<10)
	}
	ref := func(tag string) string { return e.repo + ":" + tag }
	e.save(filepath.Join(dir, "a.tar"), ref("a"))
	e.save(filepath.Join(dir, "b.tar"), ref("b1"), ref("b2"))
	cTar := filepath.Join(t.TempDir(), "c.tar")
	e.save(cTar, ref("c"))
	if err := os.WriteFile(filepath.Join(dir, "c.tgz"), gzipped(t, readFile(t, cTar)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.remove(ref("a"), ref("b1"), ref("b2"), ref("c"))

	api := &countingAPI{ImageLoader: e.c}
	var l *Loader
	var mu sync.Mutex // onLoad runs in the loader's goroutines, two at a time
	var during []TarballStatus
	api.onLoad = func() {
		mu.Lock()
		defer mu.Unlock()
		during = append(during, l.Status().Tarballs...)
	}
	log := &logBuffer{tb: t}
	l = New(loggerTo(log), dir, api, Options{Parallel: 2})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-l.Done()
	st := l.Status()
	wantStates(t, st, map[string]State{"a.tar": Loaded, "b.tar": Loaded, "c.tgz": Loaded})
	if st.Started.IsZero() || st.Duration <= 0 || st.Duration > time.Since(st.Started) {
		t.Errorf("pass started %s, took %s: want the pass's start and length", st.Started, st.Duration)
	}
	if n := api.loads.Load(); n != 3 {
		t.Errorf("first pass: %d loads, want 3", n)
	}
	if m := api.maxLoad.Load(); m > 2 {
		t.Errorf("%d loads at once, want at most 2", m)
	}
	for tag, id := range ids {
		if got, ok := e.id(ref(tag)); !ok || got != id {
			t.Errorf("%s after the load: %q, want %s", ref(tag), got, id)
		}
	}
	for _, ts := range st.Tarballs {
		if ts.BytesRead != ts.Size || !strings.Contains(ts.Reason, "absent") {
			t.Errorf("%s: read %d of %d bytes, reason %q", ts.Name, ts.BytesRead, ts.Size, ts.Reason)
		}
	}
	mu.Lock()
	checkSeenLoading(t, during)
	mu.Unlock()

	api2 := &countingAPI{ImageLoader: e.c}
	_, st = runLoader(t, dir, api2, log)
	wantStates(t, st, map[string]State{"a.tar": Skipped, "b.tar": Skipped, "c.tgz": Skipped})
	if n := api2.loads.Load(); n != 0 {
		t.Errorf("second pass: %d loads, want none", n)
	}
	if n := api2.inspects.Load(); n != 4 {
		t.Errorf("second pass: %d inspects, want one per tag (4)", n)
	}
}

// checkSeenLoading checks that Status, read while a load ran, showed that tarball loading.
func checkSeenLoading(t *testing.T, during []TarballStatus) {
	t.Helper()
	loading := 0
	for _, ts := range during {
		if ts.State == Loading {
			loading++
			if ts.BytesRead > ts.Size || ts.Size == 0 || len(ts.Images) == 0 {
				t.Errorf("loading status: %+v", ts)
			}
		}
	}
	if loading < 3 {
		t.Errorf("Status showed %d tarballs loading during the loads, want 3: %+v", loading, during)
	}
}

// Corrupt tarballs are reported and skipped; the good one loads.
func TestLoaderReportsCorruptAndLoadsTheRest(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	good := e.repo + ":good"
	goodID := e.image("good", 64<<10)
	e.image("other", 64<<10)
	e.save(filepath.Join(dir, "good.tar"), good)
	other := readSave(t, e, e.repo+":other")
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("truncated.tar", other[:len(other)/2])
	write("garbage.tar", bytes.Repeat([]byte("garbage "), 4096))
	// Well-formed for the loader, refused by dockerd: its layer does not match the config.
	write("badlayer.tar", replaceLayers(t, other))
	e.remove(good, e.repo+":other")

	api := &countingAPI{ImageLoader: e.c}
	log := &logBuffer{tb: t}
	_, st := runLoader(t, dir, api, log)
	wantStates(t, st, map[string]State{"good.tar": Loaded, "truncated.tar": Failed, "garbage.tar": Failed, "badlayer.tar": Failed})
	if got, ok := e.id(good); !ok || got != goodID {
		t.Errorf("%s: %q, want %s", good, got, goodID)
	}
	tb := byName(st)
	for _, name := range []string{"truncated.tar", "garbage.tar"} {
		if !strings.Contains(tb[name].Error, ErrCorrupt.Error()) {
			t.Errorf("%s: error %q, want it to say %q", name, tb[name].Error, ErrCorrupt)
		}
	}
	if !strings.Contains(tb["badlayer.tar"].Error, "dockerd: ") {
		t.Errorf("badlayer.tar: error %q, want dockerd's in-stream error", tb["badlayer.tar"].Error)
	}
	if n := api.loads.Load(); n != 2 {
		t.Errorf("%d loads, want 2 (good and badlayer; the unreadable ones never reach dockerd)", n)
	}
	for _, want := range []string{"failed to read image tarball", "failed to load image tarball", "failed=3", "loaded=1"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// A tarball of two images, one of them missing, is loaded.
func TestLoaderLoadsWhenOneOfTwoMissing(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	e.image("kept", 16<<10)
	goneID := e.image("gone", 16<<10)
	e.save(filepath.Join(dir, "pair.tar"), e.repo+":kept", e.repo+":gone")
	e.remove(e.repo + ":gone")

	api := &countingAPI{ImageLoader: e.c}
	_, st := runLoader(t, dir, api, &logBuffer{tb: t})
	wantStates(t, st, map[string]State{"pair.tar": Loaded})
	if r := st.Tarballs[0].Reason; !strings.Contains(r, e.repo+":gone absent") || strings.Contains(r, "kept") {
		t.Errorf("reason %q should name only the missing image", r)
	}
	if got, ok := e.id(e.repo + ":gone"); !ok || got != goneID {
		t.Errorf("gone after the load: %q, want %s", got, goneID)
	}
	if n := api.loads.Load(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

// A tag now pointing at another image is put back by loading.
func TestLoaderReloadsMovedTag(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	ref := e.repo + ":v1"
	savedID := e.image("v1", 16<<10)
	e.save(filepath.Join(dir, "v1.tar"), ref)
	movedID := e.image("v1", 16<<10) // same tag, new image

	_, st := runLoader(t, dir, &countingAPI{ImageLoader: e.c}, &logBuffer{tb: t})
	wantStates(t, st, map[string]State{"v1.tar": Loaded})
	if r := st.Tarballs[0].Reason; !strings.Contains(r, shortID(movedID)) || !strings.Contains(r, shortID(savedID)) {
		t.Errorf("reason %q should name both IDs", r)
	}
	if got, _ := e.id(ref); got != savedID {
		t.Errorf("%s is %s after the load, want %s", ref, got, savedID)
	}
}

// Docker 25+'s OCI layout, as written by writeOCIArchive, loads into this engine and is
// recognised as present on the second pass.
func TestLoaderOCILayout(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "oci.tar"))
	if err != nil {
		t.Fatal(err)
	}
	ids := writeOCIArchive(t, f, []ociImage{
		{Tag: e.repo + ":one", Files: map[string][]byte{"etc/one": []byte(e.repo)}, Labels: map[string]string{testLabel: t.Name()}},
		{Tag: e.repo + ":two", Files: map[string][]byte{"etc/two": []byte(e.repo)}, Labels: map[string]string{testLabel: t.Name()}},
	})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		e.cleanupID(id)
	}
	_, st := runLoader(t, dir, &countingAPI{ImageLoader: e.c}, &logBuffer{tb: t})
	wantStates(t, st, map[string]State{"oci.tar": Loaded})
	api := &countingAPI{ImageLoader: e.c}
	_, st = runLoader(t, dir, api, &logBuffer{tb: t})
	wantStates(t, st, map[string]State{"oci.tar": Skipped})
	if api.loads.Load() != 0 {
		t.Error("second pass loaded the OCI-layout tarball again")
	}
}

func readSave(t *testing.T, e *engine, ref string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "save.tar")
	e.save(p, ref)
	return readFile(t, p)
}

// replaceLayers copies a docker save tarball with every layer its manifest.json names
// replaced by another valid layer, so the manifest still holds but the layer's digest no
// longer matches the config. Either layout (20.10's <id>/layer.tar, 25+'s blobs/sha256/).
func replaceLayers(t *testing.T, save []byte) []byte {
	t.Helper()
	type entry struct {
		h    *tar.Header
		body []byte
	}
	var entries []entry
	layers := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(save))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{h, body})
		if h.Name == "manifest.json" {
			var m []manifestEntry
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			for _, e := range m {
				for _, l := range e.Layers {
					layers[l] = true
				}
			}
		}
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, e := range entries {
		if layers[e.h.Name] {
			e.body = layerTar(t, map[string][]byte{"etc/other": []byte("not the saved layer")})
			e.h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(e.h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if len(layers) == 0 {
		t.Fatal("no layer in the saved tarball's manifest")
	}
	return out.Bytes()
}

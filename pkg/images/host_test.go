package images

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

func TestPlanHost(t *testing.T) {
	img := func(id string) Lookup { return Lookup{Image: &docker.Image{ID: id, Size: 42}} }
	absent, broken := Lookup{}, Lookup{Err: errors.New("boom")}
	for _, tc := range []struct {
		name        string
		inner, host Lookup
		fetch       bool
		state       State // when not fetched
		reason      string
	}{
		{"present with the host's ID", img("sha256:aaa"), img("sha256:aaa"), false, Skipped, "present with the host's ID"},
		{"absent", absent, img("sha256:aaa"), true, "", "absent"},
		{"another ID", img("sha256:bbb"), img("sha256:aaa"), true, "", "the host has aaa"},
		{"inner inspect fails", broken, img("sha256:aaa"), true, "", "inspect"},
		{"a tarball brought what the host lacks", img("sha256:bbb"), absent, false, Skipped, "not on the host engine"},
		{"on neither engine", absent, absent, false, Failed, "not on the host engine either"},
		{"host unreachable, present", img("sha256:bbb"), broken, false, Skipped, "could not be asked"},
		{"host unreachable, absent", absent, broken, false, Failed, "could not be asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planHost([]string{"wp-php:8.4"}, map[string]Lookup{"wp-php:8.4": tc.inner}, map[string]Lookup{"wp-php:8.4": tc.host})
			if len(got) != 1 {
				t.Fatalf("%d steps, want 1", len(got))
			}
			s := got[0]
			if s.Ref != "wp-php:8.4" || s.Fetch != tc.fetch || (!tc.fetch && s.State != tc.state) || !strings.Contains(s.Reason, tc.reason) {
				t.Errorf("got %+v, want fetch %t state %q reason ~%q", s, tc.fetch, tc.state, tc.reason)
			}
			if tc.fetch && (s.HostID != tc.host.Image.ID || s.Size != 42) {
				t.Errorf("fetch of %+v: want the host's ID and size", s)
			}
		})
	}
}

// The plan keeps the order of the refs and decides each on its own lookups.
func TestPlanHostOrder(t *testing.T) {
	refs := []string{"wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26"}
	host := map[string]Lookup{}
	for _, r := range refs {
		host[r] = Lookup{Image: &docker.Image{ID: "sha256:" + r}}
	}
	inner := map[string]Lookup{"wp-mariadb:11.8": host["wp-mariadb:11.8"]}
	var fetched []string
	for i, s := range planHost(refs, inner, host) {
		if s.Ref != refs[i] {
			t.Errorf("step %d is %s, want %s", i, s.Ref, refs[i])
		}
		if s.Fetch {
			fetched = append(fetched, s.Ref)
		}
	}
	if got := strings.Join(fetched, ","); got != "wp-php:8.4,wp-nginx:1.26" {
		t.Errorf("fetched %s", got)
	}
}

// fakeHost plays the host engine: fixed images, each saved from bytes, counting saves.
type fakeHost struct {
	images map[string]*docker.Image
	saves  map[string][]byte
	saved  atomic.Int32
}

func (f *fakeHost) InspectImage(_ context.Context, ref string) (*docker.Image, error) {
	return f.images[ref], nil
}

func (f *fakeHost) SaveImage(_ context.Context, ref string) (io.ReadCloser, error) {
	f.saved.Add(1)
	return io.NopCloser(bytes.NewReader(f.saves[ref])), nil
}

// On the real engine: of two needed refs, the one present is skipped and the one missing is
// streamed from the "host" (a `docker save` held in memory) into a real ImageLoad, with its
// bytes counted; a ref neither engine has fails alone.
func TestHostFetchesOnlyMissing(t *testing.T) {
	e := newEngine(t)
	ref := func(tag string) string { return e.repo + ":" + tag }
	presentID, missingID := e.image("present", 32<<10), e.image("missing", 64<<10)
	tarPath := filepath.Join(t.TempDir(), "missing.tar")
	e.save(tarPath, ref("missing"))
	e.remove(ref("missing"))
	save := readFile(t, tarPath)
	host := &fakeHost{
		images: map[string]*docker.Image{ref("present"): {ID: presentID}, ref("missing"): {ID: missingID, Size: int64(len(save))}},
		saves:  map[string][]byte{ref("missing"): save},
	}
	api := &countingAPI{ImageLoader: e.c}
	refs := []string{ref("present"), ref("missing"), ref("nowhere")}
	l := New(loggerTo(&logBuffer{tb: t}), filepath.Join(t.TempDir(), "none"), api,
		Options{Host: &Host{Socket: "/var/run/docker-host.sock", API: host, Refs: refs}})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := l.Status()
	if st.Host == nil || len(st.Host.Images) != 3 {
		t.Fatalf("host status %+v", st.Host)
	}
	want := map[string]State{ref("present"): Skipped, ref("missing"): Loaded, ref("nowhere"): Failed}
	for _, img := range st.Host.Images {
		if img.State != want[img.Ref] {
			t.Errorf("%s: %s (%s %s), want %s", img.Ref, img.State, img.Reason, img.Error, want[img.Ref])
		}
	}
	if got := st.Host.Images[1]; got.BytesRead != int64(len(save)) || got.Size != int64(len(save)) {
		t.Errorf("missing: read %d of %d bytes, want %d", got.BytesRead, got.Size, len(save))
	}
	if n := host.saved.Load(); n != 1 {
		t.Errorf("%d saves from the host, want 1", n)
	}
	if n := api.loads.Load(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	if id, ok := e.id(ref("missing")); !ok || id != missingID {
		t.Errorf("%s after the fetch: %q, want %s", ref("missing"), id, missingID)
	}
}

// Without a client the pass fetches nothing, shows why, and is still done.
func TestHostUnreachable(t *testing.T) {
	l := New(loggerTo(&logBuffer{tb: t}), filepath.Join(t.TempDir(), "none"), refusingAPI{},
		Options{Host: &Host{Socket: "/var/run/docker-host.sock", Err: errors.New("connect: refused")}})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := l.Status()
	if !st.Done || st.Host == nil || st.Host.Error != "connect: refused" || len(st.Host.Images) != 0 {
		t.Errorf("status %+v host %+v", st, st.Host)
	}
}

// fakeInner plays the inner engine: a load of a stream holding a ref's name makes that ref
// present with the ID given for it.
type fakeInner struct {
	mu     sync.Mutex
	ids    map[string]string // what a load of the ref gives
	images map[string]*docker.Image
}

func (f *fakeInner) InspectImage(_ context.Context, ref string) (*docker.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[ref], nil
}

func (f *fakeInner) LoadImage(_ context.Context, r io.Reader) ([]string, error) {
	b, err := io.ReadAll(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[string(b)] = &docker.Image{ID: f.ids[string(b)]}
	return []string{string(b)}, err
}

// Images of instances declared after boot: Fetch handles only the refs no pass has seen,
// once each.
func TestHostFetchLater(t *testing.T) {
	host := &fakeHost{images: map[string]*docker.Image{}, saves: map[string][]byte{}}
	inner := &fakeInner{ids: map[string]string{}, images: map[string]*docker.Image{}}
	for _, ref := range []string{"wp-php:8.4", "wp-php:7.4"} {
		host.images[ref], host.saves[ref], inner.ids[ref] = &docker.Image{ID: "sha256:" + ref}, []byte(ref), "sha256:"+ref
	}
	l := New(loggerTo(&logBuffer{tb: t}), filepath.Join(t.TempDir(), "none"), inner,
		Options{Host: &Host{Socket: "/s", API: host, Refs: []string{"wp-php:8.4"}}})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := l.Fetch(context.Background(), []string{"wp-php:8.4", "wp-php:7.4", "wp-php:7.4"})
	if strings.Join(got, ",") != "wp-php:7.4" {
		t.Errorf("Fetch handled %v, want only wp-php:7.4", got)
	}
	if again := l.Fetch(context.Background(), []string{"wp-php:8.4", "wp-php:7.4"}); len(again) != 0 {
		t.Errorf("second Fetch handled %v", again)
	}
	if n := host.saved.Load(); n != 2 {
		t.Errorf("%d saves, want 2", n)
	}
	st := l.Status()
	if len(st.Host.Images) != 2 || st.Host.Images[1].Ref != "wp-php:7.4" || st.Host.Images[1].State != Loaded {
		t.Errorf("host status %+v", st.Host.Images)
	}
	if none := New(loggerTo(&logBuffer{tb: t}), "/none", inner, Options{}); none.Fetch(context.Background(), []string{"x"}) != nil {
		t.Error("Fetch without a host handled something")
	}
}

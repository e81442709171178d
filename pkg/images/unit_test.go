package images

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// refusingAPI is a test double for dockerd that answers nothing but the context's error, for
// the tests of the pass itself (no engine needed).
type refusingAPI struct{}

func (refusingAPI) LoadImage(ctx context.Context, _ io.Reader) ([]string, error) {
	return nil, ctx.Err()
}

func (refusingAPI) InspectImage(ctx context.Context, _ string) (*docker.Image, error) {
	return nil, ctx.Err()
}

func TestMissingDirIsNoWork(t *testing.T) {
	_, st := runLoader(t, filepath.Join(t.TempDir(), "absent"), refusingAPI{}, &logBuffer{tb: t})
	if len(st.Tarballs) != 0 || st.Error != "" {
		t.Errorf("status %+v", st)
	}
}

func TestUnreadableDirIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l := New(loggerTo(&logBuffer{tb: t}), file, refusingAPI{}, Options{})
	if err := l.Run(context.Background()); err == nil {
		t.Fatal("want an error listing a file as a directory")
	}
	<-l.Done()
	if st := l.Status(); st.Error == "" || !st.Done {
		t.Errorf("status %+v should carry the error and be done", st)
	}
}

func TestListTarballs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.tar", "a.tar.gz", "c.tgz", ".partial.tar", "notes.txt", "x.tar.bz2"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d.tar"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "b.tar"), filepath.Join(dir, "link.tar")); err != nil {
		t.Fatal(err)
	}
	got, err := listTarballs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, filepath.Base(p))
	}
	if want := []string{"a.tar.gz", "b.tar", "c.tgz", "link.tar"}; !reflect.DeepEqual(names, want) {
		t.Errorf("got %v, want %v", names, want)
	}
}

// A cancelled pass settles every tarball (failed, with the reason) and still closes Done.
func TestCancelledPassSettlesEverything(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.tar", "b.tar", "c.tar", "d.tar"} {
		if err := os.WriteFile(filepath.Join(dir, name), readFile(t, filepath.Join("testdata", "docker-26.tar")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := New(loggerTo(&logBuffer{tb: t}), dir, refusingAPI{}, Options{Parallel: 1})
	if err := l.Run(ctx); err != nil {
		t.Fatalf("a cancelled pass returns nil, got %v", err)
	}
	<-l.Done()
	for _, ts := range l.Status().Tarballs {
		if ts.State != Failed || ts.Error == "" {
			t.Errorf("%s: %s %q, want failed with the cancellation", ts.Name, ts.State, ts.Error)
		}
	}
}

func TestRunOnce(t *testing.T) {
	l := New(loggerTo(&logBuffer{tb: t}), t.TempDir(), refusingAPI{}, Options{})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err == nil {
		t.Error("a second Run must be refused")
	}
}

// inspectAPI answers ImageInspect from a map of ref → image ID; a missing ref is not found.
type inspectAPI struct {
	refusingAPI
	ids map[string]string
}

func (a inspectAPI) InspectImage(_ context.Context, ref string) (*docker.Image, error) {
	id, ok := a.ids[ref]
	if !ok {
		return nil, nil
	}
	return &docker.Image{ID: id}, nil
}

// The comparison behind skipping, for both image stores dockerd may use.
func TestDifferences(t *testing.T) {
	cfg, man, other := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64), "sha256:"+strings.Repeat("3", 64)
	a := Archive{Images: []ArchiveImage{{ID: cfg, RepoTags: []string{"wp-php:8.4"}, AltIDs: map[string]string{"wp-php:8.4": man}}}}
	tests := []struct {
		name string
		ids  map[string]string
		want []string
	}{
		{"classic store: config digest", map[string]string{"wp-php:8.4": cfg}, nil},
		{"containerd store: manifest digest", map[string]string{"wp-php:8.4": man}, nil},
		{"absent", map[string]string{}, []string{"wp-php:8.4 absent"}},
		{"moved", map[string]string{"wp-php:8.4": other}, []string{"wp-php:8.4 is 333333333333, tarball has 111111111111 (manifest 222222222222)"}},
	}
	for _, tt := range tests {
		l := New(loggerTo(io.Discard), t.TempDir(), inspectAPI{ids: tt.ids}, Options{})
		if got := l.differences(context.Background(), a); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	untagged := Archive{Images: []ArchiveImage{{ID: cfg}}}
	l := New(loggerTo(io.Discard), t.TempDir(), inspectAPI{ids: map[string]string{cfg: cfg}}, Options{})
	if got := l.differences(context.Background(), untagged); got != nil {
		t.Errorf("untagged image present by ID: %q", got)
	}
}

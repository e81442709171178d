package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// testLabel marks every image the tests create with the test's name.
const testLabel = "org.wp-dind.test"

// engine is the shared Docker engine (DOCKER_HOST or /var/run/docker.sock), seen by a test:
// c is what the loader uses (pkg/docker), the docker CLI makes and removes the fixtures.
type engine struct {
	tb   testing.TB
	c    *docker.Client
	repo string // wpdind-test-<test>-<rand>: every image of the test is a tag of it
}

// newEngine connects to the shared engine, or skips the test when none answers (fails under
// make test).
func newEngine(tb testing.TB) *engine {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := docker.Connect(ctx, "")
	if err != nil {
		testutil.SkipOrFail(tb, fmt.Sprintf("needs the Docker engine (%v)", err), "make engine")
	}
	tb.Cleanup(func() { _ = c.Close() })
	return &engine{tb: tb, c: c, repo: testutil.Name(tb, "wpdind-test")}
}

// docker runs the docker CLI with stdin, failing the test with its output on error.
func (e *engine) docker(stdin io.Reader, args ...string) string {
	e.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		e.tb.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// image imports a one-layer image holding extra bytes of random data (so its ID is its own),
// tagged e.repo:tag and labelled with the test's name, and removes it at cleanup. It returns
// the image ID.
func (e *engine) image(tag string, size int) string {
	e.tb.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		e.tb.Fatal(err)
	}
	layer := layerTar(e.tb, map[string][]byte{"data/random.bin": data, "etc/wpdind-test": []byte(e.tb.Name())})
	return e.importLayer(bytes.NewReader(layer), tag)
}

// importLayer imports a rootfs tar as e.repo:tag, labelled, removed at cleanup; it returns
// the image ID.
func (e *engine) importLayer(layer io.Reader, tag string) string {
	e.tb.Helper()
	ref := e.repo + ":" + tag
	e.docker(layer, "import", "--change", "LABEL "+testLabel+"="+e.tb.Name(), "-", ref)
	id, ok := e.id(ref)
	if !ok {
		e.tb.Fatalf("imported %s is not there", ref)
	}
	e.cleanupID(id)
	return id
}

// cleanupID removes the image (every tag of it) at cleanup.
func (e *engine) cleanupID(id string) {
	e.tb.Cleanup(func() {
		if _, ok := e.id(id); !ok {
			return
		}
		if out, err := exec.Command("docker", "rmi", "-f", id).CombinedOutput(); err != nil {
			e.tb.Errorf("remove test image %s: %v: %s", id, err, out)
		}
	})
}

// id returns the image ID ref points at, if any.
func (e *engine) id(ref string) (string, bool) {
	e.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	img, err := e.c.InspectImage(ctx, ref)
	if err != nil {
		e.tb.Fatalf("inspect %s: %v", ref, err)
	}
	if img == nil {
		return "", false
	}
	return img.ID, true
}

// save writes `docker save refs...` to path.
func (e *engine) save(path string, refs ...string) {
	e.tb.Helper()
	e.docker(nil, append([]string{"save", "-o", path}, refs...)...)
}

// remove untags refs and deletes the images left without a tag.
func (e *engine) remove(refs ...string) {
	e.tb.Helper()
	e.docker(nil, append([]string{"rmi", "-f"}, refs...)...)
}

func layerTar(tb testing.TB, files map[string][]byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, name := range sortedKeys(files) {
		h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[name])), ModTime: fixedTime}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// countingAPI wraps the real client: it counts calls, tracks the most loads in flight, and
// runs onLoad (when set) at the start of each load.
type countingAPI struct {
	docker.ImageLoader
	loads, inspects   atomic.Int32
	inFlight, maxLoad atomic.Int32
	onLoad            func()
}

func (c *countingAPI) LoadImage(ctx context.Context, r io.Reader) ([]string, error) {
	c.loads.Add(1)
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for m := c.maxLoad.Load(); n > m && !c.maxLoad.CompareAndSwap(m, n); m = c.maxLoad.Load() {
	}
	if c.onLoad != nil {
		c.onLoad()
	}
	return c.ImageLoader.LoadImage(ctx, r) // in flight until dockerd's answer is read
}

func (c *countingAPI) InspectImage(ctx context.Context, ref string) (*docker.Image, error) {
	c.inspects.Add(1)
	return c.ImageLoader.InspectImage(ctx, ref)
}

// logBuffer collects a loader's log lines and echoes them to the test log.
type logBuffer struct {
	tb testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	l.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func loggerTo(w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "images", Output: w, Level: hclog.Debug})
}

// runLoader runs one pass over dir and checks Done is closed when Run returns.
func runLoader(tb testing.TB, dir string, api docker.ImageLoader, logs io.Writer) (*Loader, Status) {
	tb.Helper()
	l := New(loggerTo(logs), dir, api, Options{Parallel: 2})
	if err := l.Run(context.Background()); err != nil {
		tb.Fatalf("run: %v", err)
	}
	select {
	case <-l.Done():
	default:
		tb.Fatal("Done not closed after Run returned")
	}
	st := l.Status()
	if !st.Done {
		tb.Error("Status().Done is false after Run")
	}
	return l, st
}

func byName(st Status) map[string]TarballStatus {
	m := map[string]TarballStatus{}
	for _, t := range st.Tarballs {
		m[t.Name] = t
	}
	return m
}

func wantStates(t *testing.T, st Status, want map[string]State) {
	t.Helper()
	got := byName(st)
	if len(got) != len(want) {
		t.Errorf("got %d tarballs, want %d: %+v", len(got), len(want), st.Tarballs)
	}
	for name, s := range want {
		if got[name].State != s {
			t.Errorf("%s: %s (%s), want %s", name, got[name].State, got[name].Error, s)
		}
	}
}

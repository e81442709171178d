package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/client"
)

// testLabel marks every image the tests create with the test's name.
const testLabel = "org.wp-dind.test"

// engine is the shared Docker engine (DOCKER_HOST or /var/run/docker.sock), seen by a test.
type engine struct {
	tb   testing.TB
	c    *client.Client
	repo string // wpdind-test-<test>-<rand>: every image of the test is a tag of it
}

// newEngine connects to the shared engine, or skips the test when none answers.
func newEngine(tb testing.TB) *engine {
	tb.Helper()
	c, err := client.New(client.FromEnv)
	if err != nil {
		tb.Fatalf("docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		if os.Getenv("WPDIND_STRICT") == "1" {
			tb.Fatalf("needs the Docker engine (make engine): %v", err)
		}
		tb.Skipf("needs the Docker engine (%v)", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return &engine{tb: tb, c: c, repo: "wpdind-test-" + name + "-" + randHex(tb, 4)}
}

func randHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (e *engine) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
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
	ctx, cancel := e.ctx()
	defer cancel()
	ref := e.repo + ":" + tag
	res, err := e.c.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(layer), SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{"LABEL " + testLabel + "=" + e.tb.Name()}})
	if err != nil {
		e.tb.Fatalf("import %s: %v", ref, err)
	}
	if _, err := decodeLoadStream(res); err != nil {
		e.tb.Fatalf("import %s: %v", ref, err)
	}
	_ = res.Close()
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
		ctx, cancel := e.ctx()
		defer cancel()
		_, err := e.c.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			e.tb.Errorf("remove test image %s: %v", id, err)
		}
	})
}

// id returns the image ID ref points at, if any.
func (e *engine) id(ref string) (string, bool) {
	e.tb.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	res, err := e.c.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		e.tb.Fatalf("inspect %s: %v", ref, err)
	}
	return res.ID, true
}

// save writes `docker save refs...` to path.
func (e *engine) save(path string, refs ...string) {
	e.tb.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	res, err := e.c.ImageSave(ctx, refs)
	if err != nil {
		e.tb.Fatalf("save %v: %v", refs, err)
	}
	defer res.Close()
	f, err := os.Create(path)
	if err != nil {
		e.tb.Fatal(err)
	}
	if _, err := io.Copy(f, res); err != nil {
		e.tb.Fatalf("save %v: %v", refs, err)
	}
	if err := f.Close(); err != nil {
		e.tb.Fatal(err)
	}
}

// remove untags refs and deletes the images left without a tag.
func (e *engine) remove(refs ...string) {
	e.tb.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	for _, ref := range refs {
		if _, err := e.c.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			e.tb.Fatalf("remove %s: %v", ref, err)
		}
	}
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
	API
	loads, inspects   atomic.Int32
	inFlight, maxLoad atomic.Int32
	onLoad            func()
}

func (c *countingAPI) ImageLoad(ctx context.Context, r io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	c.loads.Add(1)
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for m := c.maxLoad.Load(); n > m && !c.maxLoad.CompareAndSwap(m, n); m = c.maxLoad.Load() {
	}
	if c.onLoad != nil {
		c.onLoad()
	}
	res, err := c.API.ImageLoad(ctx, r, opts...)
	if err != nil {
		return nil, err
	}
	// dockerd reads the tarball while it answers: stay "in flight" until the stream is read.
	body, _ := io.ReadAll(res)
	_ = res.Close()
	return io.NopCloser(bytes.NewReader(body)), nil
}

func (c *countingAPI) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	c.inspects.Add(1)
	return c.API.ImageInspect(ctx, ref, opts...)
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
func runLoader(tb testing.TB, dir string, api API, logs io.Writer) (*Loader, Status) {
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

package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// Options tune a Loader; zero values take the defaults shown.
type Options struct {
	// Parallel bounds the tarballs handled at once (2). Loads are disk- and CPU-bound in
	// dockerd; more than two on a small machine only slows every one of them.
	Parallel int
	// InspectTimeout bounds each ImageInspect (30s).
	InspectTimeout time.Duration
	// LoadTimeout bounds one ImageLoad, from the request to the end of its response (30m):
	// a multi-GB tarball on a slow disk takes minutes.
	LoadTimeout time.Duration
	// Host, when set, is the host engine: after the tarballs, the images its Refs name that
	// the inner engine lacks (or holds with another ID) are streamed from it (host.go).
	Host *Host
}

func (o Options) withDefaults() Options {
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.InspectTimeout <= 0 {
		o.InspectTimeout = 30 * time.Second
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = 30 * time.Minute
	}
	return o
}

// Loader loads the tarballs of one directory, once. Its methods are safe for concurrent use.
type Loader struct {
	log  hclog.Logger
	dir  string
	api  docker.ImageLoader
	opts Options

	once sync.Once
	done chan struct{}

	mu       sync.Mutex
	tarballs []*tarball
	host     []*hostImage
	hostMu   sync.Mutex // one host pass at a time (host.go); taken before mu
	listErr  string
	settled  bool
	started  time.Time
	took     time.Duration
}

// New returns a Loader for dir; nothing happens until Run. log is used as given (init/ names
// it).
func New(log hclog.Logger, dir string, api docker.ImageLoader, opts Options) *Loader {
	return &Loader{log: log, dir: dir, api: api, opts: opts.withDefaults(), done: make(chan struct{})}
}

// Done is closed when every tarball is settled (loaded, skipped or failed), when Run found
// nothing to do, or when Run returned early on a cancelled ctx.
func (l *Loader) Done() <-chan struct{} { return l.done }

// Run makes the one pass: it lists the directory, handles every tarball, then (with
// Options.Host) fetches from the host engine what the instances still lack, and returns once
// all are settled. It does not watch the directory afterwards: tarballs added later are loaded at
// the next boot. Per-tarball failures are in Status and the log, not in the returned error,
// which is only for a directory that cannot be listed (a missing one is not an error: no
// shared images). A cancelled ctx stops the pass (tarballs not settled are marked failed) and
// Run returns nil. Run may be called once; a second call returns an error.
func (l *Loader) Run(ctx context.Context) error {
	first := false
	l.once.Do(func() { first = true })
	if !first {
		return errors.New("run image loader: already run")
	}
	l.mu.Lock()
	l.started = time.Now()
	l.mu.Unlock()
	defer l.finish()
	err := l.runTarballs(ctx)
	l.runHost(ctx)
	return err
}

// runTarballs is the pass over the directory's tarballs.
func (l *Loader) runTarballs(ctx context.Context) error {
	start := time.Now()
	paths, err := listTarballs(l.dir)
	if errors.Is(err, fs.ErrNotExist) {
		l.log.Info("no shared images directory", "dir", l.dir)
		return nil
	}
	if err != nil {
		l.setListErr(err)
		return err
	}
	l.register(paths)
	l.runAll(ctx)
	c := l.Status().Counts()
	if ctx.Err() != nil {
		l.log.Warn("image loading cancelled", "dir", l.dir, "loaded", c[Loaded], "skipped", c[Skipped], "failed", c[Failed])
		return nil
	}
	l.log.Info("image tarballs settled", "dir", l.dir, "loaded", c[Loaded], "skipped", c[Skipped],
		"failed", c[Failed], "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// listTarballs returns the *.tar, *.tar.gz and *.tgz regular files of dir (symlinks
// followed), sorted by name. Hidden files (a copy in progress, say) are left out.
func listTarballs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list image tarballs: %w", err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !isTarballName(name) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, nil
}

func isTarballName(name string) bool {
	for _, suffix := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

func (l *Loader) register(paths []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range paths {
		t := &tarball{path: p, st: TarballStatus{Name: filepath.Base(p), State: Pending}}
		if fi, err := os.Stat(p); err == nil {
			t.st.Size = fi.Size()
		}
		l.tarballs = append(l.tarballs, t)
	}
}

// runAll handles the tarballs, at most opts.Parallel at a time, and waits for all of them.
func (l *Loader) runAll(ctx context.Context) {
	sem := make(chan struct{}, l.opts.Parallel)
	var wg sync.WaitGroup
	for _, t := range l.snapshotTarballs() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			l.settle(t, Failed, "", fmt.Errorf("load image tarball: %w", ctx.Err()))
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			l.handle(ctx, t)
		})
	}
	wg.Wait()
}

func (l *Loader) snapshotTarballs() []*tarball {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.tarballs)
}

func (l *Loader) setListErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listErr = err.Error()
}

func (l *Loader) finish() {
	l.mu.Lock()
	l.settled, l.took = true, time.Since(l.started)
	l.mu.Unlock()
	close(l.done)
}

// Status returns a snapshot: safe to call at any time, from any goroutine.
func (l *Loader) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Status{Dir: l.dir, Done: l.settled, Error: l.listErr, Started: l.started, Tarballs: []TarballStatus{}}
	if l.settled {
		s.Duration = l.took
	}
	for _, t := range l.tarballs {
		ts := t.st
		ts.Images = slices.Clone(ts.Images)
		if ts.State == Loading || ts.State.Settled() {
			ts.BytesRead = t.read.Load()
		}
		s.Tarballs = append(s.Tarballs, ts)
	}
	s.Host = l.hostStatus()
	return s
}

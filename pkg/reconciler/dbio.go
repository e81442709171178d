package reconciler

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// `ctl db export` and `ctl db import` stream a dump between the caller and the instance's
// database client, through wpinit, without holding it: the export is mariadb-dump's output
// copied to the caller as it comes, the import the caller's body copied into the client's
// standard input (gunzipped on the way when it starts with gzip's magic bytes).

// DBExport streams a dump of the instance's database to out, as the instance's job: one
// transaction, taken while the site serves.
func (r *Reconciler) DBExport(ctx context.Context, name string, out io.Writer) (int64, error) {
	if err := r.awake(ctx, name, "db export"); err != nil {
		return 0, err
	}
	w := &guardedWriter{w: out}
	defer w.close() // a job that goes on past ctx writes nowhere
	err := r.runJob(ctx, &job{name: name, what: "db export", fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		return outcome{}, r.work.export(ctx, in, w)
	}})
	return w.bytes(), err
}

func (w *worker) export(ctx context.Context, in config.Instance, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Backup)
	defer cancel()
	db, err := w.runningContainer(ctx, in.Name, instance.RoleDB)
	if err != nil {
		return err
	}
	if db == nil {
		return fmt.Errorf("export database of %q: its database container is not running", in.Name)
	}
	if err := w.dumper(db.ID)(ctx, out); err != nil {
		return fmt.Errorf("export database of %q: %w", in.Name, err)
	}
	return nil
}

// ImportResult is the outcome of `ctl db import`.
type ImportResult struct {
	Instance   string         `json:"instance"`
	Bytes      int64          `json:"bytes"` // SQL imported, after gunzip
	Gzip       bool           `json:"gzip"`
	ReplaceURL string         `json:"replace_url,omitempty"` // the URL rewritten to URL
	URL        string         `json:"url"`
	Replaced   *ReplaceResult `json:"replaced,omitempty"`
	Duration   time.Duration  `json:"duration"`
}

// ReplaceResult is what wp-dind-replace-url (or wp-dind-personalize) rewrote.
type ReplaceResult struct {
	Tables  int      `json:"tables"`
	Rows    int      `json:"rows"`
	Values  int      `json:"values"`
	Skipped []string `json:"skipped,omitempty"`
}

// DBImport streams the dump body into the instance's database, as its job, then, with
// replaceURL, rewrites that URL to the instance's own across the database (in its PHP
// container, on WordPress's functions: wp-dind-replace-url).
func (r *Reconciler) DBImport(ctx context.Context, name string, body io.Reader, replaceURL string) (*ImportResult, error) {
	if err := r.awake(ctx, name, "db import"); err != nil {
		return nil, err
	}
	start := time.Now()
	src := &guardedReader{r: body}
	defer src.close()
	res := &ImportResult{Instance: name, ReplaceURL: replaceURL}
	err := r.runJob(ctx, &job{name: name, what: "db import", fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		return outcome{}, r.work.importDump(ctx, in, src, res)
	}})
	res.Duration = time.Since(start)
	return res, err
}

func (w *worker) importDump(ctx context.Context, in config.Instance, body io.Reader, res *ImportResult) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Restore)
	defer cancel()
	res.URL = in.URL()
	db, err := w.runningContainer(ctx, in.Name, instance.RoleDB)
	if err != nil {
		return err
	}
	if db == nil {
		return fmt.Errorf("import into %q: its database container is not running", in.Name)
	}
	sql, gz, err := maybeGunzip(body)
	if err != nil {
		return fmt.Errorf("import into %q: %w", in.Name, err)
	}
	res.Gzip = gz
	counted := &countReader{r: sql}
	err = w.runSQL(ctx, db.ID, counted)
	res.Bytes = counted.n
	if err != nil {
		return fmt.Errorf("import into %q: %w", in.Name, err)
	}
	w.log.Info("imported dump", "instance", in.Name, "bytes", counted.n, "gzip", gz)
	if res.ReplaceURL == "" {
		return nil
	}
	res.Replaced, err = w.replaceURL(ctx, in, res.ReplaceURL)
	return err
}

// replaceURL runs wp-dind-replace-url OLD URL in the instance's PHP container.
func (w *worker) replaceURL(ctx context.Context, in config.Instance, old string) (*ReplaceResult, error) {
	php, err := w.runningContainer(ctx, in.Name, instance.RolePHP)
	if err != nil {
		return nil, err
	}
	if php == nil {
		return nil, fmt.Errorf("replace %s in %q: its PHP container is not running", old, in.Name)
	}
	var out strings.Builder
	res, err := w.eng.ExecStream(ctx, php.ID, docker.ExecIO{
		User: "www-data", Cmd: []string{"wp-dind-replace-url", old, in.URL()}, Stdout: &out, MaxOutput: installOutputLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("replace %s in %q: %w", old, in.Name, err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("replace %s in %q: wp-dind-replace-url exit %d: %s", old, in.Name, res.ExitCode, lastLine(res.Output))
	}
	return decodeReplace(out.String())
}

// decodeReplace reads the last line of a tool's output: its JSON counts.
func decodeReplace(out string) (*ReplaceResult, error) {
	var rr ReplaceResult
	if err := json.Unmarshal([]byte(lastLine(out)), &rr); err != nil {
		return nil, fmt.Errorf("read the URL rewrite's counts: %w (%q)", err, lastLine(out))
	}
	return &rr, nil
}

// maybeGunzip is r, gunzipped when it starts with gzip's magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, false, fmt.Errorf("read gzip: %w", err)
	}
	return zr, true, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// guardedWriter and guardedReader stand between a caller's stream (an HTTP answer or body)
// and a job that may outlive the call (runJob returns when the caller's ctx ends, the job
// goes on): once closed, they fail every call instead of touching the stream.
type guardedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	n      int64
	closed bool
}

var errCallerGone = errors.New("the caller is gone")

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errCallerGone
	}
	n, err := g.w.Write(p)
	g.n += int64(n)
	if f, ok := g.w.(interface{ Flush() }); ok && err == nil {
		f.Flush()
	}
	return n, err
}

func (g *guardedWriter) bytes() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

func (g *guardedWriter) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

type guardedReader struct {
	mu     sync.Mutex
	r      io.Reader
	closed bool
}

func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errCallerGone
	}
	return g.r.Read(p)
}

func (g *guardedReader) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Routes of the data commands.
const (
	RouteSnapshot        = "POST /v1/instances/{name}/snapshots" // SnapshotRequest; answers SnapshotResult
	RouteSnapshots       = "GET /v1/instances/{name}/snapshots"  // answers SnapshotList
	RouteSnapshotRestore = "POST /v1/instances/{name}/snapshots/{label}/restore"
	RouteSnapshotRemove  = "DELETE /v1/instances/{name}/snapshots/{label}"
	RouteDBExport        = "GET /v1/instances/{name}/db/export"  // the dump, streamed; trailer ExportErrorTrailer
	RouteDBImport        = "POST /v1/instances/{name}/db/import" // body: the dump, plain or gzip; ?replace_url=OLD
	RouteBackupAll       = "POST /v1/backups/all"                // answers AllResult
	RouteRestoreAll      = "POST /v1/restore/all"                // answers AllResult
)

// Data is what the data routes need: init/ adapts the reconciler to it, its errors marked
// like Instances'.
type Data interface {
	Snapshot(ctx context.Context, name, label string) (*SnapshotResult, error)
	Snapshots(name string) ([]SnapshotInfo, error)
	SnapshotRestore(ctx context.Context, name, label string) (*SnapshotRestoreResult, error)
	SnapshotRemove(ctx context.Context, name, label string) error
	DBExport(ctx context.Context, name string, out io.Writer) (int64, error)
	DBImport(ctx context.Context, name string, body io.Reader, replaceURL string) (*ImportResult, error)
	BackupAll(ctx context.Context) (*AllResult, error)
	RestoreAll(ctx context.Context) (*AllResult, error)
}

// HandleData adds the data routes; get returns the reconciler once it runs.
func (s *Server) HandleData(get func() (Data, error)) {
	h := dataHandlers{get}
	s.mux.HandleFunc(RouteSnapshot, h.snapshot)
	s.mux.HandleFunc(RouteSnapshots, h.snapshots)
	s.mux.HandleFunc(RouteSnapshotRestore, h.snapshotRestore)
	s.mux.HandleFunc(RouteSnapshotRemove, h.snapshotRemove)
	s.mux.HandleFunc(RouteDBExport, h.export)
	s.mux.HandleFunc(RouteDBImport, h.dbImport)
	s.mux.HandleFunc(RouteBackupAll, h.all(Data.BackupAll))
	s.mux.HandleFunc(RouteRestoreAll, h.all(Data.RestoreAll))
}

type dataHandlers struct {
	get func() (Data, error)
}

// call answers fn's result for the instance the path names.
func (h dataHandlers) call(w http.ResponseWriter, r *http.Request, fn func(d Data, name string) (any, error)) {
	d, name, ok := h.target(w, r)
	if !ok {
		return
	}
	res, err := fn(d, name)
	answer(w, res, err)
}

// target is the instance the path names and the data side, or ok false once the error is
// answered.
func (h dataHandlers) target(w http.ResponseWriter, r *http.Request) (d Data, name string, ok bool) {
	if name, ok = instanceName(w, r); !ok {
		return nil, "", false
	}
	d, ok = h.data(w)
	return d, name, ok
}

// data is the data side, or ok false once the error (wpinit not ready) is answered.
func (h dataHandlers) data(w http.ResponseWriter) (Data, bool) { return ready(w, h.get) }

func (h dataHandlers) snapshot(w http.ResponseWriter, r *http.Request) {
	var req SnapshotRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		WriteError(w, badRequest("decode snapshot request: "+err.Error()))
		return
	}
	h.call(w, r, func(d Data, name string) (any, error) { return d.Snapshot(r.Context(), name, req.Label) })
}

func (h dataHandlers) snapshots(w http.ResponseWriter, r *http.Request) {
	h.call(w, r, func(d Data, name string) (any, error) {
		list, err := d.Snapshots(name)
		return SnapshotList{Snapshots: list}, err
	})
}

func (h dataHandlers) snapshotRestore(w http.ResponseWriter, r *http.Request) {
	h.call(w, r, func(d Data, name string) (any, error) {
		return d.SnapshotRestore(r.Context(), name, r.PathValue("label"))
	})
}

func (h dataHandlers) snapshotRemove(w http.ResponseWriter, r *http.Request) {
	h.call(w, r, func(d Data, name string) (any, error) {
		return struct{}{}, d.SnapshotRemove(r.Context(), name, r.PathValue("label"))
	})
}

// export streams the dump. Errors before the first byte are answered as usual; one after
// it (the status line is gone) is the trailer ExportErrorTrailer, and the body ends there.
func (h dataHandlers) export(w http.ResponseWriter, r *http.Request) {
	d, name, ok := h.target(w, r)
	if !ok {
		return
	}
	w.Header().Set("Trailer", ExportErrorTrailer)
	sw := &startWriter{w: w}
	n, err := d.DBExport(r.Context(), name, sw)
	switch {
	case err != nil && n == 0 && !sw.started:
		w.Header().Del("Trailer")
		WriteError(w, err)
	case err != nil:
		w.Header().Set(ExportErrorTrailer, oneLine(err))
	default:
		sw.start()
	}
}

// startWriter sends the status line with the first byte of the dump.
type startWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startWriter) start() {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/sql")
		s.w.WriteHeader(http.StatusOK)
	}
}

func (s *startWriter) Write(p []byte) (int, error) {
	s.start()
	return s.w.Write(p)
}

func (s *startWriter) Flush() {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (h dataHandlers) dbImport(w http.ResponseWriter, r *http.Request) {
	old := r.URL.Query().Get("replace_url")
	if old != "" {
		if u, err := url.Parse(old); err != nil || u.Scheme == "" || u.Host == "" {
			WriteError(w, badRequest("--replace-url "+old+": give the absolute URL the dump's site had, like https://example.com"))
			return
		}
	}
	h.call(w, r, func(d Data, name string) (any, error) { return d.DBImport(r.Context(), name, r.Body, old) })
}

func (h dataHandlers) all(fn func(Data, context.Context) (*AllResult, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, ok := h.data(w)
		if !ok {
			return
		}
		res, err := fn(d, r.Context())
		answer(w, res, err)
	}
}

func oneLine(err error) string {
	b := []byte(err.Error())
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

func instancePath(name string, rest string) string {
	return "/v1/instances/" + url.PathEscape(name) + rest
}

// Snapshot takes a snapshot of an instance ("" label: its time).
func (c *Client) Snapshot(ctx context.Context, name, label string) (*SnapshotResult, error) {
	var out SnapshotResult
	return &out, c.do(ctx, http.MethodPost, instancePath(name, "/snapshots"), SnapshotRequest{Label: label}, &out)
}

// Snapshots lists an instance's snapshots, oldest first.
func (c *Client) Snapshots(ctx context.Context, name string) (*SnapshotList, error) {
	var out SnapshotList
	return &out, c.do(ctx, http.MethodGet, instancePath(name, "/snapshots"), nil, &out)
}

// SnapshotRestore brings an instance back to one of its snapshots.
func (c *Client) SnapshotRestore(ctx context.Context, name, label string) (*SnapshotRestoreResult, error) {
	var out SnapshotRestoreResult
	return &out, c.do(ctx, http.MethodPost, instancePath(name, "/snapshots/"+url.PathEscape(label)+"/restore"), nil, &out)
}

// SnapshotRemove deletes one of an instance's snapshots.
func (c *Client) SnapshotRemove(ctx context.Context, name, label string) error {
	return c.do(ctx, http.MethodDelete, instancePath(name, "/snapshots/"+url.PathEscape(label)), nil, nil)
}

// DBExport copies a dump of the instance's database to out as it comes, and fails when the
// dump stopped before its end (the answer's trailer says why).
func (c *Client) DBExport(ctx context.Context, name string, out io.Writer) (int64, error) {
	resp, err := c.send(ctx, http.MethodGet, instancePath(name, "/db/export"), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(out, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read dump: %w", err)
	}
	if msg := resp.Trailer.Get(ExportErrorTrailer); msg != "" {
		return n, fmt.Errorf("export stopped after %d bytes: %s", n, msg)
	}
	return n, nil
}

// DBImport streams body (a dump, plain or gzip) into the instance's database, as a chunked
// request body: nothing is held in memory. replaceURL, when set, is rewritten to the site's
// URL afterwards.
func (c *Client) DBImport(ctx context.Context, name string, body io.Reader, replaceURL string) (*ImportResult, error) {
	path := instancePath(name, "/db/import")
	if replaceURL != "" {
		path += "?replace_url=" + url.QueryEscape(replaceURL)
	}
	resp, err := c.sendBody(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out ImportResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return &out, nil
}

// BackupAll backs up every instance, one after another.
func (c *Client) BackupAll(ctx context.Context) (*AllResult, error) {
	var out AllResult
	return &out, c.do(ctx, http.MethodPost, "/v1/backups/all", nil, &out)
}

// RestoreAll restores every instance from its newest archive.
func (c *Client) RestoreAll(ctx context.Context) (*AllResult, error) {
	var out AllResult
	return &out, c.do(ctx, http.MethodPost, "/v1/restore/all", nil, &out)
}

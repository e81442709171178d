package ctl

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Routes of the instance commands.
const (
	RouteInstance = "GET /v1/instances/{name}" // ?secrets=1 adds the credentials
	RoutePurge    = "POST /v1/instances/{name}/purge"
	RouteXdebug   = "POST /v1/instances/{name}/xdebug"  // XdebugRequest
	RouteBackup   = "POST /v1/instances/{name}/backup"  // answers BackupResult
	RouteRestore  = "POST /v1/instances/{name}/restore" // RestoreRequest
	RouteRestart  = "POST /v1/instances/{name}/restart" // answers RestartResult
	RouteBackups  = "GET /v1/backups"                   // ?instance=NAME; answers BackupList
)

// Instances is what the instance routes need: init/ adapts the reconciler to it. Its errors
// carry their answer with Mark (ErrNotFound for an unknown instance, ErrConflict while it
// stops, ErrInvalid for an unusable archive).
type Instances interface {
	Detail(name string, showSecrets bool) (InstanceDetail, error)
	Purge(name string) ([]Archived, error)
	Xdebug(ctx context.Context, name string, on bool) (*XdebugResult, error)
	Backup(ctx context.Context, name string) (*BackupResult, error)
	Restore(ctx context.Context, name, file string) (*RestoreResult, error)
	Restart(ctx context.Context, name string) (*RestartResult, error)
	Backups(name string) ([]BackupArchive, error) // name "" lists every instance's
}

// HandleInstances adds the instance routes. get returns the reconciler once it runs; before
// that (dockerd not up yet) its error is answered as a conflict.
func (s *Server) HandleInstances(get func() (Instances, error)) {
	h := instanceHandlers{get}
	s.mux.HandleFunc(RouteInstance, h.detail)
	s.mux.HandleFunc(RoutePurge, h.purge)
	s.mux.HandleFunc(RouteXdebug, h.xdebug)
	s.mux.HandleFunc(RouteBackup, h.backup)
	s.mux.HandleFunc(RouteRestore, h.restore)
	s.mux.HandleFunc(RouteRestart, h.restart)
	s.mux.HandleFunc(RouteBackups, h.backups)
}

type instanceHandlers struct {
	get func() (Instances, error)
}

// instanceName is the instance the path names, or false once a name that config refuses
// (a "/" sent as %2F, a capital letter, ...) is answered 400: it names no instance.
func instanceName(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if err := config.ValidName(name); err != nil {
		WriteError(w, badRequest(err.Error()))
		return "", false
	}
	return name, true
}

func (h instanceHandlers) instances(w http.ResponseWriter) (Instances, bool) {
	return ready(w, h.get)
}

// ready is what get returns, or ok false once its error (wpinit not ready for the request)
// is answered 409.
func ready[T any](w http.ResponseWriter, get func() (T, error)) (T, bool) {
	v, err := get()
	if err != nil {
		WriteError(w, Mark(err, ErrConflict))
		var zero T
		return zero, false
	}
	return v, true
}

func (h instanceHandlers) detail(w http.ResponseWriter, r *http.Request) {
	name, ok := instanceName(w, r)
	if !ok {
		return
	}
	in, ok := h.instances(w)
	if !ok {
		return
	}
	d, err := in.Detail(name, r.URL.Query().Get("secrets") == "1")
	answer(w, d, err)
}

func (h instanceHandlers) purge(w http.ResponseWriter, r *http.Request) {
	name, ok := instanceName(w, r)
	if !ok {
		return
	}
	in, ok := h.instances(w)
	if !ok {
		return
	}
	list, err := in.Purge(name)
	answer(w, PurgeResponse{Purged: list}, err)
}

// job runs one instance command on the instance the path names and answers its result.
func (h instanceHandlers) job(w http.ResponseWriter, r *http.Request, fn func(in Instances, name string) (any, error)) {
	name, ok := instanceName(w, r)
	if !ok {
		return
	}
	in, ok := h.instances(w)
	if !ok {
		return
	}
	res, err := fn(in, name)
	answer(w, res, err)
}

func (h instanceHandlers) xdebug(w http.ResponseWriter, r *http.Request) {
	var req XdebugRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		WriteError(w, badRequest("decode xdebug request: "+err.Error()))
		return
	}
	h.job(w, r, func(in Instances, name string) (any, error) { return in.Xdebug(r.Context(), name, req.On) })
}

func (h instanceHandlers) backup(w http.ResponseWriter, r *http.Request) {
	h.job(w, r, func(in Instances, name string) (any, error) { return in.Backup(r.Context(), name) })
}

func (h instanceHandlers) restore(w http.ResponseWriter, r *http.Request) {
	var req RestoreRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.File == "" {
		WriteError(w, badRequest("restore needs a file: a name in the backups folder or an absolute path"))
		return
	}
	if strings.Contains(req.File, "/") && !filepath.IsAbs(req.File) {
		WriteError(w, badRequest("restore from "+req.File+": a path must be absolute (wpinit ctl makes it so)"))
		return
	}
	h.job(w, r, func(in Instances, name string) (any, error) { return in.Restore(r.Context(), name, req.File) })
}

func (h instanceHandlers) restart(w http.ResponseWriter, r *http.Request) {
	h.job(w, r, func(in Instances, name string) (any, error) { return in.Restart(r.Context(), name) })
}

func (h instanceHandlers) backups(w http.ResponseWriter, r *http.Request) {
	in, ok := h.instances(w)
	if !ok {
		return
	}
	list, err := in.Backups(r.URL.Query().Get("instance"))
	answer(w, BackupList{Archives: list}, err)
}

// Instance fetches one instance in full; the credentials only with secrets.
func (c *Client) Instance(ctx context.Context, name string, secrets bool) (*InstanceDetail, error) {
	path := "/v1/instances/" + url.PathEscape(name)
	if secrets {
		path += "?secrets=1"
	}
	var d InstanceDetail
	if err := c.do(ctx, http.MethodGet, path, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Purge deletes the archived folders of a removed instance.
func (c *Client) Purge(ctx context.Context, name string) (*PurgeResponse, error) {
	var out PurgeResponse
	if err := c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(name)+"/purge", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Xdebug switches Xdebug on or off in an instance, through php.ini and a PHP-FPM reload.
func (c *Client) Xdebug(ctx context.Context, name string, on bool) (*XdebugResult, error) {
	var out XdebugResult
	return &out, c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(name)+"/xdebug", XdebugRequest{On: on}, &out)
}

// Backup writes an archive of an instance (database dump and files) to the backups folder.
func (c *Client) Backup(ctx context.Context, name string) (*BackupResult, error) {
	var out BackupResult
	return &out, c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(name)+"/backup", nil, &out)
}

// Restore brings an instance back to an archive written by Backup: file is a name in the
// backups folder, or a path (see RestoreFile).
func (c *Client) Restore(ctx context.Context, name, file string) (*RestoreResult, error) {
	file, err := RestoreFile(file)
	if err != nil {
		return nil, err
	}
	var out RestoreResult
	return &out, c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(name)+"/restore", RestoreRequest{File: file}, &out)
}

// RestoreFile is the FILE of `ctl restore NAME FILE` as the daemon takes it: a FILE with no
// "/" is the name of an archive in the backups folder, and stays so; any other is a path,
// made absolute against the caller's working folder (the daemon's is another one).
func RestoreFile(file string) (string, error) {
	if !strings.Contains(file, "/") {
		return file, nil
	}
	return filepath.Abs(file)
}

// RestartInstance stops an instance's containers and starts them again, in order.
func (c *Client) RestartInstance(ctx context.Context, name string) (*RestartResult, error) {
	var out RestartResult
	return &out, c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(name)+"/restart", nil, &out)
}

// Backups lists the archives of the backups folder: name's, or every instance's with "".
func (c *Client) Backups(ctx context.Context, name string) (*BackupList, error) {
	var out BackupList
	path := "/v1/backups"
	if name != "" {
		path += "?instance=" + url.QueryEscape(name)
	}
	return &out, c.do(ctx, http.MethodGet, path, nil, &out)
}

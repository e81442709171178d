package ctl

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
)

// Routes of the instance commands.
const (
	RouteInstance = "GET /v1/instances/{name}" // ?secrets=1 adds the credentials
	RoutePurge    = "POST /v1/instances/{name}/purge"
)

// Instances is what the instance routes need: *reconciler.Reconciler.
type Instances interface {
	Detail(name string, showSecrets bool) (reconciler.InstanceDetail, error)
	Purge(name string) ([]instance.Archived, error)
}

// PurgeResponse lists the archived folders a purge deleted.
type PurgeResponse struct {
	Purged []instance.Archived `json:"purged"`
}

// HandleInstances adds the instance routes. get returns the reconciler once it runs; before
// that (dockerd not up yet) its error is answered as a conflict.
func (s *Server) HandleInstances(get func() (Instances, error)) {
	h := instanceHandlers{get}
	s.mux.HandleFunc(RouteInstance, h.detail)
	s.mux.HandleFunc(RoutePurge, h.purge)
}

type instanceHandlers struct {
	get func() (Instances, error)
}

func (h instanceHandlers) instances(w http.ResponseWriter) (Instances, bool) {
	in, err := h.get()
	if err != nil {
		WriteError(w, Mark(err, ErrConflict))
		return nil, false
	}
	return in, true
}

func (h instanceHandlers) detail(w http.ResponseWriter, r *http.Request) {
	in, ok := h.instances(w)
	if !ok {
		return
	}
	d, err := in.Detail(r.PathValue("name"), r.URL.Query().Get("secrets") == "1")
	if err != nil {
		WriteError(w, classifyInstance(err))
		return
	}
	WriteJSON(w, http.StatusOK, d)
}

func (h instanceHandlers) purge(w http.ResponseWriter, r *http.Request) {
	in, ok := h.instances(w)
	if !ok {
		return
	}
	list, err := in.Purge(r.PathValue("name"))
	if err != nil {
		WriteError(w, classifyInstance(err))
		return
	}
	WriteJSON(w, http.StatusOK, PurgeResponse{Purged: list})
}

func classifyInstance(err error) error {
	if errors.Is(err, reconciler.ErrNoInstance) || errors.Is(err, fs.ErrNotExist) {
		return Mark(err, ErrNotFound)
	}
	return err
}

// Instance fetches one instance in full; the credentials only with secrets.
func (c *Client) Instance(ctx context.Context, name string, secrets bool) (*reconciler.InstanceDetail, error) {
	path := "/v1/instances/" + url.PathEscape(name)
	if secrets {
		path += "?secrets=1"
	}
	var d reconciler.InstanceDetail
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

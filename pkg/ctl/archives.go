package ctl

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// The archives of removed instances (ROOT/.archive): their space in the status, and
// `ctl purge --archived [--older-than D]`, which deletes them. `ctl purge NAME` is an
// instance route (instances.go).

// RoutePurgeArchived deletes removed instances' archived folders: PurgeArchivedRequest,
// answered with PurgeArchivedResult.
const RoutePurgeArchived = "POST /v1/archives/purge"

// ArchiveUsage is the space archived folders take.
type ArchiveUsage struct {
	Count   int   `json:"count"`
	Bytes   int64 `json:"bytes"`
	Partial bool  `json:"partial,omitempty"` // a folder was too large to measure whole: Bytes is a lower bound
}

// PurgeArchivedRequest selects what to delete: every removed instance's archived folder,
// or only those archived more than OlderThan ago.
type PurgeArchivedRequest struct {
	OlderThan time.Duration `json:"older_than,omitempty"`
}

// PurgeArchivedResult is what a purge of archives deleted, and what it left.
type PurgeArchivedResult struct {
	Purged       []Archived `json:"purged"`
	Bytes        int64      `json:"bytes"`         // freed
	Kept         int        `json:"kept"`          // archived folders left
	KeptDeclared int        `json:"kept_declared"` // of them, set aside by restores of instances still declared
}

// Archives is what the archive route needs: init/ adapts the reconciler to it.
type Archives interface {
	PurgeArchived(olderThan time.Duration) (*PurgeArchivedResult, error)
}

// HandleArchives adds the archive route; get's error (no reconciler yet) is a conflict.
func (s *Server) HandleArchives(get func() (Archives, error)) {
	s.mux.HandleFunc(RoutePurgeArchived, func(w http.ResponseWriter, r *http.Request) {
		var req PurgeArchivedRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.OlderThan < 0 {
			WriteError(w, badRequest("purge archives: the body is {\"older_than\": NANOSECONDS}, not negative"))
			return
		}
		a, err := get()
		if err != nil {
			WriteError(w, Mark(err, ErrConflict))
			return
		}
		res, err := a.PurgeArchived(req.OlderThan)
		answer(w, res, err)
	})
}

// PurgeArchived deletes removed instances' archived folders, those older than olderThan
// only when it is not 0.
func (c *Client) PurgeArchived(ctx context.Context, olderThan time.Duration) (*PurgeArchivedResult, error) {
	var out PurgeArchivedResult
	return &out, c.do(ctx, http.MethodPost, "/v1/archives/purge", PurgeArchivedRequest{OlderThan: olderThan}, &out)
}

package ctl

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// fakeArchives answers what it was asked for, in the result's Kept.
type fakeArchives struct{ asked *time.Duration }

func (f fakeArchives) PurgeArchived(olderThan time.Duration) (*PurgeArchivedResult, error) {
	*f.asked = olderThan
	return &PurgeArchivedResult{Purged: []Archived{{Name: "gone", Path: "/r/.archive/gone-x", Bytes: 42}}, Bytes: 42}, nil
}

func TestPurgeArchivedRoute(t *testing.T) {
	var asked time.Duration
	ready := true
	s := NewServer("/unused", hclog.NewNullLogger())
	s.HandleArchives(func() (Archives, error) {
		if !ready {
			return nil, errors.New("instances are not managed yet")
		}
		return fakeArchives{&asked}, nil
	})
	for _, tc := range []struct {
		name, body string
		notReady   bool
		code       int
		asked      time.Duration
	}{
		{"every archive", `{}`, false, http.StatusOK, 0},
		{"older than a day", `{"older_than": 86400000000000}`, false, http.StatusOK, 24 * time.Hour},
		{"negative", `{"older_than": -1}`, false, http.StatusBadRequest, 0},
		{"not JSON", `older`, false, http.StatusBadRequest, 0},
		{"no reconciler yet", `{}`, true, http.StatusConflict, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked, ready = -1, !tc.notReady
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/archives/purge", strings.NewReader(tc.body)))
			if rec.Code != tc.code {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.code)
			}
			if tc.code == http.StatusOK && (asked != tc.asked || !strings.Contains(rec.Body.String(), `"bytes":42`)) {
				t.Errorf("asked %s, answered %s", asked, rec.Body)
			}
		})
	}
}

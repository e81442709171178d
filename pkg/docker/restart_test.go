package docker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// restartingEngine plays dockerd for WaitRestart: its event stream stays open until the test
// ends it (dockerd going away), then pings fail down times before it answers again.
type restartingEngine struct {
	srv      *httptest.Server
	stop     chan struct{} // closed: the event stream ends
	down     atomic.Int32  // pings still to refuse
	pings    atomic.Int32
	streamed atomic.Bool
}

func newRestartingEngine(t *testing.T) *restartingEngine {
	e := &restartingEngine{stop: make(chan struct{})}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			if e.pings.Add(1) > 1 && e.down.Add(-1) >= 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Api-Version", "1.41")
			w.WriteHeader(http.StatusOK)
		case strings.HasSuffix(r.URL.Path, "/events"):
			e.streamed.Store(r.URL.Query().Get("filters") != "")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-e.stop:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *restartingEngine) connect(t *testing.T) *Client {
	t.Helper()
	c, err := Connect(context.Background(), "tcp://"+strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestWaitRestart: WaitRestart holds while the engine runs, and returns once its event stream
// broke and it answers a ping again, not before.
func TestWaitRestart(t *testing.T) {
	e := newRestartingEngine(t)
	c := e.connect(t)
	e.down.Store(3)
	done := make(chan error, 1)
	go func() { done <- c.WaitRestart(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("WaitRestart returned while the engine runs: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(e.stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitRestart did not return once the engine answered again")
	}
	if got := e.pings.Load(); got < 5 { // Connect's, three refused, the one that answered
		t.Errorf("%d pings, want the refused ones retried", got)
	}
	if !e.streamed.Load() {
		t.Error("the event stream was asked without a filter")
	}
}

// TestWaitRestartCancel: a cancelled context ends the wait with its error.
func TestWaitRestartCancel(t *testing.T) {
	c := newRestartingEngine(t).connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.WaitRestart(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitRestart = %v, want the context's deadline", err)
	}
}

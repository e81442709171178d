package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// hub sends the page's sections to the open pages (Server-Sent Events) when they change.
// One goroutine looks at the status once per interval while at least one page is open, and
// none runs when no page is: an idle wpinit is not woken up by the dashboard.
type hub struct {
	look     func(context.Context) (View, error)
	interval time.Duration
	log      hclog.Logger

	mu      sync.Mutex
	clients map[*client]bool
	last    map[string]string // the sections as last sent
	running bool
	kick    chan struct{} // look now (an action changed something)
}

// client is one open page: the sections not yet written to it, newest kept.
type client struct {
	mu      sync.Mutex
	pending map[string]string
	notify  chan struct{}
}

func newHub(look func(context.Context) (View, error), interval time.Duration, log hclog.Logger) *hub {
	return &hub{look: look, interval: interval, log: log, clients: map[*client]bool{}, kick: make(chan struct{}, 1)}
}

func (c *client) push(sections map[string]string) {
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]string{}
	}
	maps.Copy(c.pending, sections)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *client) take() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending = nil
	return p
}

// subscribe adds a page; it gets every section at the first look.
func (h *hub) subscribe() *client {
	c := &client{notify: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = true
	if h.last != nil {
		c.push(h.last)
	}
	if !h.running {
		h.running = true
		h.last = nil // the first look sends everything to everyone
		go h.loop()
	}
	return c
}

// soon asks the running loop for a look now.
func (h *hub) soon() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

// loop looks at once, then every interval, until no page is open.
func (h *hub) loop() {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.tick()
		select {
		case <-t.C:
		case <-h.kick:
		}
		h.mu.Lock()
		if len(h.clients) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

// tick renders the sections and pushes those that changed.
func (h *hub) tick() {
	v, err := h.look(context.Background())
	if err != nil {
		h.log.Debug("dashboard: no status", "error", err)
		return
	}
	sections, err := renderSections(v)
	if err != nil {
		h.log.Error("failed to render dashboard sections", "error", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := map[string]string{}
	for name, html := range sections {
		if h.last == nil || h.last[name] != html {
			changed[name] = html
		}
	}
	h.last = sections
	if len(changed) == 0 {
		return
	}
	for c := range h.clients {
		c.push(changed)
	}
}

// events is GET /events: the page's sections as they change, as "sections" events whose
// data is a JSON object of id -> HTML.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sseHeaders(w)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	c := s.hub.subscribe()
	defer s.hub.unsubscribe(c)
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		case <-c.notify:
			data, err := json.Marshal(c.take())
			if err != nil {
				return
			}
			fmt.Fprintf(w, "event: sections\ndata: %s\n\n", data)
		}
		flusher.Flush()
	}
}

func sseHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
}

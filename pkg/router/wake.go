package router

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The wake endpoint answers every request for a site the router does not proxy (asleep, or
// not serving yet). It holds the request while the site wakes (Options.Wake), then, once the
// live configuration proxies the site, answers 307 to the same URL: the browser sends the
// request again, to the site. A site that does not serve within Hold gets a page that
// reloads itself.

// listen serves the wake endpoint and the access log's socket until ctx ends.
func (r *Router) listen(ctx context.Context) (func(), error) {
	stopActivity, err := r.activity.serve(r.opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("listen for the router's access log: %w", err)
	}
	path := filepath.Join(r.opt.Dir, WakeSocket)
	l, err := net.Listen("unix", path)
	if err != nil {
		stopActivity()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		stopActivity()
		return nil, fmt.Errorf("open %s to the router's workers: %w", path, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serveWake), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		stopActivity()
	}, nil
}

func (r *Router) serveWake(w http.ResponseWriter, req *http.Request) {
	name := req.Header.Get(SiteHeader)
	if !r.wanted(name) {
		page(w, http.StatusNotFound, "No such site", fmt.Sprintf("No site is called %s.", name), false)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.opt.Hold)
	defer cancel()
	start := time.Now()
	from, _ := strconv.ParseUint(req.Header.Get(GenerationHeader), 10, 64)
	err := r.wakeSite(ctx, name, from)
	switch {
	case err == nil:
		r.log.Info("site woken", "instance", name, "duration", time.Since(start).Round(time.Millisecond))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", sameURL(req))
		w.WriteHeader(http.StatusTemporaryRedirect)
	case errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		page(w, http.StatusServiceUnavailable, name+" is starting",
			fmt.Sprintf("%s does not serve yet (%s): this page reloads itself.", name, err), true)
	default:
		page(w, http.StatusBadGateway, name+" does not serve",
			fmt.Sprintf("%s: %s (wpinit ctl status %s tells more).", name, err, name), false)
	}
}

// sameURL is the URL the browser asked for, absolute: the router passes the request's own
// Host (one of the site's names: the router chose the site by it) and scheme. A path that
// starts with "//" stays a path.
func sameURL(req *http.Request) string {
	scheme := "http"
	if req.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + req.Host + req.URL.RequestURI()
}

// wakeSite wakes the site, then waits until the live configuration proxies it and is later
// than generation from, the one that sent the request here: until then a redirect to the
// same URL could come back here (the site asleep in it), again and again.
func (r *Router) wakeSite(ctx context.Context, name string, from uint64) error {
	if r.opt.Wake != nil {
		if err := r.opt.Wake(ctx, name); err != nil {
			return err
		}
	}
	for {
		r.mu.Lock()
		s, ok := r.applied.sites[name]
		later := r.applied.gen > from
		wanted := r.wantedLocked(name)
		ch := r.changed
		r.mu.Unlock()
		switch {
		case !wanted:
			return errors.New("it is no longer declared")
		case ok && s.Serving && later:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *Router) wanted(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wantedLocked(name)
}

func (r *Router) wantedLocked(name string) bool {
	for _, s := range r.want {
		if s.Name == name {
			return true
		}
	}
	return false
}

// page answers a small HTML page; refresh makes it reload itself every 2 s.
func page(w http.ResponseWriter, code int, title, text string, refresh bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	meta := ""
	if refresh {
		meta = `<meta http-equiv="refresh" content="2">`
	}
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\">%s<title>%s</title></head><body><h1>%s</h1><p>%s</p><p>wp-dind</p></body></html>\n",
		meta, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

package router

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/ca"
)

// ConfigFile is the configuration the router's service reads, in the router's folder.
const ConfigFile = "nginx.conf"

// probeTimeout bounds the wait for the new workers after a HUP.
const probeTimeout = 5 * time.Second

// apply makes the wanted sites' configuration live: certificates, render, `nginx -t`,
// rename, HUP, and the new workers answering its generation. A configuration nginx refuses
// changes nothing. It returns false when it should be tried again soon (the router did not
// take the HUP or does not answer: its service is restarting).
func (r *Router) apply(ctx context.Context, first bool) bool {
	r.mu.Lock()
	sites, gen := r.want, r.wantGen
	r.mu.Unlock()
	kept, conflicts := checkNames(sites, r.opt.Services)
	leaves, renewed, err := r.leaves(kept)
	if err != nil {
		r.failed(gen, err)
		return true
	}
	c := Config{HTTP: r.opt.HTTP, HTTPS: r.opt.HTTPS, Dir: r.opt.Dir, User: r.opt.User, Generation: gen,
		Sites: kept, Services: r.opt.Services, Certs: certsOf(leaves)}
	text := []byte(Render(c))
	file := filepath.Join(r.opt.Dir, ConfigFile)
	if cur, err := os.ReadFile(file); err == nil && bytes.Equal(cur, text) && !renewed {
		return true // nothing changed: a renewal check that renewed nothing
	}
	if err := r.install(ctx, file, text); err != nil {
		r.failed(gen, err)
		return true
	}
	if !first {
		if err := r.reload(ctx, gen); err != nil {
			r.failed(gen, err)
			return false
		}
	}
	r.done(gen, kept, conflicts, leaves)
	return true
}

// leaves ensures a certificate for every site, one for the services and one for unknown
// names; renewed reports whether any was issued (nginx reads them at a reload only).
func (r *Router) leaves(sites []Site) (map[string]ca.Leaf, bool, error) {
	now := time.Now()
	want := map[string][]string{defaultLeaf: {"localhost"}}
	if len(r.opt.Services) > 0 {
		var names []string
		for _, s := range r.opt.Services {
			names = append(names, s.Name+".localhost")
		}
		want[servicesLeaf] = names
	}
	for _, s := range sites {
		want[s.Name] = s.Names
	}
	out := map[string]ca.Leaf{}
	renewed := false
	for name, dns := range want {
		l, err := r.opt.CA.Ensure(name, dns, now)
		if err != nil {
			return nil, false, err
		}
		if l.Issued {
			r.log.Info("issued certificate", "name", name, "dns_names", strings.Join(dns, ","), "not_after", l.NotAfter.Format(time.RFC3339))
		}
		out[name], renewed = l, renewed || l.Issued
	}
	return out, renewed, nil
}

func certsOf(leaves map[string]ca.Leaf) map[string]Cert {
	m := make(map[string]Cert, len(leaves))
	for n, l := range leaves {
		m[n] = Cert{CertFile: l.CertFile, KeyFile: l.KeyFile}
	}
	return m
}

// install writes text beside file, has nginx check it, and renames it over file.
func (r *Router) install(ctx context.Context, file string, text []byte) error {
	next := file + ".next"
	if err := atomicfile.Write(next, text, 0o644); err != nil {
		return fmt.Errorf("write router config: %w", err)
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.opt.Validate(vctx, next); err != nil {
		_ = os.Remove(next)
		return fmt.Errorf("check router config: %w", err)
	}
	if err := os.Rename(next, file); err != nil {
		return fmt.Errorf("install router config: %w", err)
	}
	return nil
}

// reload sends the HUP and waits until new workers answer gen.
func (r *Router) reload(ctx context.Context, gen uint64) error {
	if err := r.opt.Reload(ctx); err != nil {
		return fmt.Errorf("reload router: %w", err)
	}
	r.mu.Lock()
	r.applied.reloads++
	r.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var last error
	for {
		got, err := r.probe(pctx)
		if err == nil && got >= gen {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("answers generation %d", got)
		}
		select {
		case <-pctx.Done():
			return fmt.Errorf("router does not serve generation %d: %w", gen, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// probe asks the router which generation answers a new connection.
func (r *Router) probe(ctx context.Context) (uint64, error) {
	scheme, addr := "http", r.opt.HTTP
	client := r.client
	if addr == "" {
		scheme, addr = "https", r.opt.HTTPS
		// Its own listener on loopback: the answer, not the certificate, is checked.
		client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+probePath, nil)
	if err != nil {
		return 0, err
	}
	req.Close = true // a new connection: an old worker's kept one would tell the old generation
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// done records gen as live.
func (r *Router) done(gen uint64, sites []Site, conflicts []string, leaves map[string]ca.Leaf) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &r.applied
	took := now.Sub(r.setAt[gen])
	for g := range r.setAt {
		if g <= gen {
			delete(r.setAt, g)
		}
	}
	live := map[string]Site{}
	for _, s := range sites {
		live[s.Name] = s
		if _, was := a.sites[s.Name]; !was {
			a.added[s.Name] = took
		}
	}
	for n := range a.added {
		if _, ok := live[n]; !ok {
			delete(a.added, n)
		}
	}
	if gen != a.gen {
		r.log.Info("router configuration live", "generation", gen, "sites", len(sites), "duration", took.Round(time.Millisecond))
	}
	a.gen, a.at, a.took, a.sites, a.conflicts, a.certs, a.err = gen, now, took, live, conflicts, leaves, nil
	for _, c := range conflicts {
		r.log.Warn("site not routed", "reason", c)
	}
	r.notify()
	keep := []string{defaultLeaf, servicesLeaf}
	for _, s := range sites {
		keep = append(keep, s.Name)
	}
	if err := r.opt.CA.Prune(keep); err != nil {
		r.log.Warn("failed to remove old certificates", "error", err)
	}
}

func (r *Router) failed(gen uint64, err error) {
	r.log.Error("failed to apply router configuration, keeping the running one", "generation", gen, "error", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied.err, r.applied.errAt = err, time.Now()
	r.notify()
}

// notify wakes the waiters of Applied and of the wake endpoint; r.mu is held.
func (r *Router) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

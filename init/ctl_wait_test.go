package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
)

// scripted serves a sequence of statuses over a real socket, one per GET /v1/status (the
// last one again once they are used up), and the instance details of sites.
type scripted struct {
	mu    sync.Mutex
	steps []ctl.Status
	next  int
	cur   ctl.Status
	sites map[string]reconciler.InstanceDetail
}

func (s *scripted) advance(context.Context) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = s.steps[min(s.next, len(s.steps)-1)]
	s.next++
	return s.cur.Services, nil
}

func (s *scripted) section(get func(ctl.Status) any) func(context.Context) (any, error) {
	return func(context.Context) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return get(s.cur), nil
	}
}

// siteOps answers Detail from the script's sites.
type siteOps struct {
	fakeOps
	sites map[string]reconciler.InstanceDetail
}

func (o siteOps) Detail(name string, _ bool) (reconciler.InstanceDetail, error) {
	d, ok := o.sites[name]
	if !ok {
		return d, fmt.Errorf("status of %q: %w", name, reconciler.ErrNoInstance)
	}
	return d, nil
}

// serve runs a ctl server for the script and returns a client of it.
func (s *scripted) serve(t *testing.T) *ctl.Client {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "ctl.sock")
	srv := ctl.NewServer(socket, hclog.NewNullLogger())
	srv.StatusSection(ctl.SectionServices, s.advance) // first: each status request moves on
	srv.StatusSection(ctl.SectionImages, s.section(func(st ctl.Status) any { return st.Images }))
	srv.StatusSection(ctl.SectionInstances, s.section(func(st ctl.Status) any { return st.Instances }))
	srv.StatusSection(ctl.SectionRouter, s.section(func(st ctl.Status) any { return st.Router }))
	srv.HandleInstances(func() (ctl.Instances, error) { return instanceAPI{siteOps{sites: s.sites}}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	return ctl.NewClient(socket)
}

var (
	up       = []ctl.ServiceStatus{{Name: "dockerd", State: "RUNNING", Ready: true}}
	starting = []ctl.ServiceStatus{{Name: "dockerd", State: "STARTING"}}
	loaded   = &ctl.ImagesStatus{Done: true, Duration: time.Second, Tarballs: []ctl.TarballStatus{{Name: "wp-php.tar", State: ctl.TarballLoaded, Duration: time.Second}}}
)

func loading(pct int64) *ctl.ImagesStatus {
	return &ctl.ImagesStatus{Tarballs: []ctl.TarballStatus{{Name: "wp-php.tar", State: ctl.TarballLoading, Size: 100, BytesRead: pct}}}
}

func sites(ready bool, in ...ctl.InstanceStatus) *ctl.InstancesStatus {
	return &ctl.InstancesStatus{File: "/etc/wpinit/instances.toml", Ready: ready, Instances: in}
}

func TestWaitSites(t *testing.T) {
	converging := ctl.InstanceStatus{Name: "blog", State: ctl.InstanceConverging}
	runningBlog := ctl.InstanceStatus{Name: "blog", State: ctl.InstanceRunning, Health: "healthy"}
	tests := []struct {
		name    string
		steps   []ctl.Status
		timeout time.Duration
		lines   []string // the output, line by line
		err     string   // substring of the error; "" for success
	}{
		{"serves after progress", []ctl.Status{
			{Services: starting, Images: &ctl.ImagesStatus{}, Instances: sites(false)},
			{Services: up, Images: loading(10), Instances: sites(false)},
			{Services: up, Images: loading(19), Instances: sites(false)}, // same 20% step: no line
			{Services: up, Images: loading(45), Instances: sites(false)},
			{Services: up, Images: loaded, Instances: sites(false, ctl.InstanceStatus{Name: "blog", State: ctl.InstancePending})},
			{Services: up, Images: loaded, Instances: sites(true, converging)},
			{Services: up, Images: loaded, Instances: sites(true, runningBlog)},
		}, time.Minute, []string{
			"service dockerd: STARTING", "service dockerd: RUNNING, ready", "image wp-php.tar: loading 0%",
			"image wp-php.tar: loading 40%", "image wp-php.tar: loaded in 1s", "images: done in 1s: 1 loaded, 0 skipped, 0 failed",
			"site blog: pending", "site blog: converging", "site blog: running, healthy", "the site serves after",
		}, ""},
		{"already serving", []ctl.Status{{Services: up, Images: loaded, Instances: sites(true, runningBlog,
			ctl.InstanceStatus{Name: "shop", State: ctl.InstanceRunning, Health: "healthy"})}},
			time.Minute, []string{"service dockerd: RUNNING, ready", "image wp-php.tar: loaded in 1s",
				"images: done in 1s: 1 loaded, 0 skipped, 0 failed", "site blog: running, healthy", "site shop: running, healthy",
				"all 2 sites serve after"}, ""},
		{"no sites", []ctl.Status{{Services: up, Instances: sites(true)}}, time.Minute,
			[]string{"service dockerd: RUNNING, ready", "services ready, no sites declared in /etc/wpinit/instances.toml after"}, ""},
		{"a site fails", []ctl.Status{
			{Services: up, Images: loaded, Instances: sites(true, converging)},
			{Services: up, Images: loaded, Instances: sites(true, ctl.InstanceStatus{Name: "blog", State: ctl.InstanceFailed, LastError: "wp-php:9.9 not loaded"})},
		}, time.Minute, []string{"service dockerd: RUNNING, ready", "image wp-php.tar: loaded in 1s",
			"images: done in 1s: 1 loaded, 0 skipped, 0 failed", "site blog: converging", "site blog: failed: wp-php:9.9 not loaded"},
			"site blog failed: wp-php:9.9 not loaded"},
		{"time runs out", []ctl.Status{{Services: up, Images: loaded, Instances: sites(true, converging)}}, 100 * time.Millisecond,
			[]string{"service dockerd: RUNNING, ready", "image wp-php.tar: loaded in 1s",
				"images: done in 1s: 1 loaded, 0 skipped, 0 failed", "site blog: converging"},
			"sites not serving within 100ms, waiting for: blog converging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := (&scripted{steps: tt.steps}).serve(t)
			var out strings.Builder
			err := waitSites(context.Background(), c, tt.timeout, time.Millisecond, &out)
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(got) != len(tt.lines) {
				t.Fatalf("output\n%s\nwant the lines %q", out.String(), tt.lines)
			}
			for i, want := range tt.lines {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("line %d = %q, want %q", i+1, got[i], want)
				}
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
			if strings.Contains(tt.err, "failed") && !errors.Is(err, ctl.ErrSiteFailed) {
				t.Errorf("err %v is not marked ErrSiteFailed", err)
			}
		})
	}
}

func TestWaitSitesUnreachable(t *testing.T) {
	c := ctl.NewClient(filepath.Join(t.TempDir(), "none.sock"))
	var out strings.Builder
	err := waitSites(context.Background(), c, 50*time.Millisecond, time.Millisecond, &out)
	if err == nil || !strings.HasSuffix(err.Error(), "waiting for: wpinit to answer") {
		t.Errorf("err = %v", err)
	}
	if n := strings.Count(out.String(), "wpinit: not answering yet: reach wpinit at "); n != 1 {
		t.Errorf("the unreachable line shows %d times, want once:\n%s", n, out.String())
	}
}

func TestCtlSites(t *testing.T) {
	detail := func(name string, port int, php string) reconciler.InstanceDetail {
		d := reconciler.InstanceDetail{Port: port, AdminUser: "admin"}
		d.Name, d.URL, d.PHP, d.DB, d.Web = name, fmt.Sprintf("http://localhost:%d", port), php, "mariadb 11.8", "nginx 1.26"
		d.State, d.Names = "running", []string{name + ".localhost"}
		return d
	}
	named := detail("blog", 0, "php 8.4")
	named.URL, named.State = "http://blog.localhost", "sleeping"
	router := &ctl.RouterStatus{HTTP: ":80", HTTPS: ":443", PublicHTTPPort: 8880, PublicHTTPSPort: 8443}
	tests := []struct {
		name  string
		st    ctl.Status
		sites map[string]reconciler.InstanceDetail
		want  string
		err   error
	}{
		{"two sites", ctl.Status{Instances: sites(true, ctl.InstanceStatus{Name: "legacy"}, ctl.InstanceStatus{Name: "shop"})},
			map[string]reconciler.InstanceDetail{"legacy": detail("legacy", 8002, "php 7.4"), "shop": detail("shop", 8001, "php 8.4")},
			"SITE    URL                     STATE    PHP      DATABASE      WEB         ADMIN                            USER   PORT URL\n" +
				"legacy  http://localhost:8002/  running  php 7.4  mariadb 11.8  nginx 1.26  http://localhost:8002/wp-admin/  admin  -\n" +
				"shop    http://localhost:8001/  running  php 8.4  mariadb 11.8  nginx 1.26  http://localhost:8001/wp-admin/  admin  -\n", nil},
		{"through the router", ctl.Status{Router: router, Instances: sites(true, ctl.InstanceStatus{Name: "blog"}, ctl.InstanceStatus{Name: "shop"})},
			map[string]reconciler.InstanceDetail{"blog": named, "shop": detail("shop", 8001, "php 8.4")},
			"SITE  URL                           STATE     PHP      DATABASE      WEB         ADMIN                                  USER   PORT URL\n" +
				"blog  https://blog.localhost:8443/  sleeping  php 8.4  mariadb 11.8  nginx 1.26  https://blog.localhost:8443/wp-admin/  admin  -\n" +
				"shop  https://shop.localhost:8443/  running   php 8.4  mariadb 11.8  nginx 1.26  https://shop.localhost:8443/wp-admin/  admin  http://localhost:8001/\n", nil},
		{"none declared", ctl.Status{Instances: sites(true)}, nil, "(no sites declared in /etc/wpinit/instances.toml)\n", nil},
		{"no instances section", ctl.Status{}, nil, "", errNoSites},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := (&scripted{steps: []ctl.Status{tt.st}, sites: tt.sites}).serve(t)
			var out strings.Builder
			err := runCtl(context.Background(), c, []string{"sites"}, &out)
			if out.String() != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("got %v and\n%s\nwant %v and\n%s", err, out.String(), tt.err, tt.want)
			}
		})
	}
	if err := runCtl(context.Background(), ctl.NewClient("/x"), []string{"sites", "extra"}, &strings.Builder{}); !errors.Is(err, errUsage) {
		t.Errorf("sites extra: %v", err)
	}
	if err := runCtl(context.Background(), ctl.NewClient("/x"), []string{"wait", "--timeout", "0s"}, &strings.Builder{}); !errors.Is(err, errUsage) {
		t.Errorf("wait --timeout 0s: %v", err)
	}
}

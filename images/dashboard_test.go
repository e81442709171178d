package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// The dashboard's tests on the real product (make dashboard-test, make bench-dashboard):
// a wp-dind container of their own whose sites are published 1:1 on free host ports (so the
// page's site links work from the host), with the dashboard, phpMyAdmin and MailDev on free
// 127.0.0.1 ports that the dashboard's links name.
const (
	envDashboard      = "WPDIND_DASHBOARD"       // 1: run TestDashboard (make dashboard-test)
	envBenchDashboard = "WPDIND_BENCH_DASHBOARD" // 1: run TestBenchDashboard (make bench-dashboard)
	// envPlaywright is where make browser-deps installed playwright-core.
	envPlaywright = "WPDIND_PLAYWRIGHT_DIR"
)

// dashDind is a wp-dind for the dashboard tests and the URLs of its pages on the host.
type dashDind struct {
	*dind
	dash, pma, mail string // http://127.0.0.1:PORT
}

// dashSites are n sites on ports lo+1..lo+n, the first two of different versions.
func dashSites(lo, n int) []site {
	out := make([]site, n)
	for i := range out {
		out[i] = site{Name: fmt.Sprintf("dash-%d", i+1), Title: fmt.Sprintf("Dashboard site %d", i+1), ID: i + 1, Port: lo + 1 + i}
	}
	out[0].PHP, out[0].DB, out[0].WebVersion = "7.4", "10.5", "1.18"
	return out
}

func newDashDind(t *testing.T, n int) *dashDind {
	t.Helper()
	lo := freeRange(t, n+2)
	d := newDind(t, dashSites(lo, n))
	setPorts(t, d.conf, fmt.Sprintf("%d-%d", lo, lo+n+1))
	free := testutil.FreePorts(t, 5) // dashboard, phpMyAdmin, mail, the router's HTTP and HTTPS
	dd := &dashDind{dind: d, dash: fmt.Sprintf("http://127.0.0.1:%d", free[0]),
		pma: fmt.Sprintf("http://127.0.0.1:%d", free[1]), mail: fmt.Sprintf("http://127.0.0.1:%d", free[2])}
	opts := []string{"-v", d.conf + ":/etc/wpinit:ro", "-v", d.inst + ":/wordpress-instances", "-v", d.shared + ":/shared-images:ro",
		"-p", fmt.Sprintf("127.0.0.1:%d:8500", free[0]), "-p", fmt.Sprintf("127.0.0.1:%d:8080", free[1]),
		"-p", fmt.Sprintf("127.0.0.1:%d:1080", free[2]),
		"-e", fmt.Sprintf("WPINIT_PHPMYADMIN_URL=http://localhost:%d/", free[1]),
		"-e", fmt.Sprintf("WPINIT_MAIL_URL=http://localhost:%d/", free[2]),
		// The router's ports, which the page's links by name carry (https://NAME.localhost:PORT/).
		"-p", fmt.Sprintf("127.0.0.1:%d:80", free[3]), "-p", fmt.Sprintf("127.0.0.1:%d:443", free[4]),
		"-e", fmt.Sprintf("WPINIT_ROUTER_HTTP_PORT=%d", free[3]), "-e", fmt.Sprintf("WPINIT_ROUTER_HTTPS_PORT=%d", free[4])}
	for _, s := range d.sites {
		opts = append(opts, "-p", fmt.Sprintf("127.0.0.1:%d:%d", s.Port, s.Port))
	}
	d.id = startDind(t, d.ref, d.volume, opts...)
	return dd
}

// up waits until every site runs healthy.
func (d *dashDind) up(timeout time.Duration) {
	d.t.Helper()
	start := time.Now()
	d.waitStatus("instances up", timeout, all(servicesReady, imagesDone, instancesUp(len(d.sites))))
	d.t.Logf("%d sites running and healthy %.1f s after docker run", len(d.sites), time.Since(start).Seconds())
}

// TestDashboard: the browser test of the page (scripts/dashboard-test/dashboard.mjs), then
// /metrics against promtool and a kill -9 of nginx, then the dashboard's port seen from
// inside an instance.
func TestDashboard(t *testing.T) {
	requireEnv(t, envDashboard, "dashboard-test")
	needTools(t, "node", "chromium", "promtool")
	d := newDashDind(t, 2)
	d.up(8 * time.Minute)
	t.Run("browser", func(t *testing.T) { d.browser(t) })
	t.Run("metrics", func(t *testing.T) { d.metrics(t) })
	t.Run("closed to instances", func(t *testing.T) { d.closedToInstances(t) })
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipOrFail(t, "no "+tool, "make browser-deps and make tools")
		}
	}
	if _, err := os.Stat(filepath.Join(playwrightDir(), "node_modules", "playwright-core")); err != nil {
		testutil.SkipOrFail(t, "no playwright-core in "+playwrightDir(), "make browser-deps")
	}
}

func playwrightDir() string {
	if d := os.Getenv(envPlaywright); d != "" {
		return d
	}
	abs, _ := filepath.Abs("../.cache/node/dashboard-test")
	return abs
}

// browser runs the Playwright script; its screenshots go to bin/artifacts.
func (d *dashDind) browser(t *testing.T) {
	var sites []map[string]string
	for _, s := range d.sites {
		sites = append(sites, map[string]string{"name": s.Name, "title": s.Title})
	}
	js, _ := json.Marshal(sites)
	artifacts, _ := filepath.Abs("../bin/artifacts")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "../scripts/dashboard-test/dashboard.mjs")
	cmd.Env = append(os.Environ(), "DASHBOARD_URL="+d.dash+"/", "CONTAINER="+d.id, "SITES="+string(js),
		"ARTIFACTS="+artifacts, "PLAYWRIGHT_DIR="+playwrightDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("dashboard.mjs (screenshots in %s):\n%s", artifacts, out.String())
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
}

var restartsRE = regexp.MustCompile(`(?m)^wpdind_service_restarts_total\{service="nginx"\} (\d+)$`)

// metrics: promtool check metrics passes on /metrics, and one kill -9 of nginx is one more
// restart in its counter.
func (d *dashDind) metrics(t *testing.T) {
	body := d.scrape(t)
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, want := range []string{`wpdind_container_cpu_seconds_total{instance="dash-1",role="db"}`,
		`wpdind_instance_health{health="healthy",instance="dash-2"} 1`, "wpdind_reconcile_pass_duration_seconds_count",
		"wpdind_image_load_seconds{", "wpdind_instance_probe_latency_seconds{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	before := nginxRestarts(t, body)
	st, err := d.status()
	if err != nil {
		t.Fatal(err)
	}
	mustDocker(t, "exec", d.id, "kill", "-9", strconv.Itoa(service(st, "nginx").Pid))
	var after int
	err = testutil.PollEvery(30*time.Second, 200*time.Millisecond, func() bool {
		after = nginxRestarts(t, d.scrape(t))
		return after != before
	})
	if err != nil || after != before+1 {
		t.Errorf("nginx restart counter %d -> %d after kill -9, want +1", before, after)
	}
	t.Logf("nginx restart counter %d -> %d after kill -9", before, after)
}

func (d *dashDind) scrape(t *testing.T) string {
	t.Helper()
	code, body := httpGet(t, d.dash+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	return body
}

func nginxRestarts(t *testing.T, body string) int {
	t.Helper()
	m := restartsRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no nginx restart counter in /metrics")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// closedToInstances: from an instance's PHP container, the dashboard's port on its
// network's gateway (the wp-dind container) does not connect, while SMTP there does (so a
// refusal is the firewall's, not a broken probe). It needs the isolation firewall of
// issue 10 (every wp-dind listener closed to the instances but SMTP and Xdebug).
func (d *dashDind) closedToInstances(t *testing.T) {
	s := d.sites[0]
	det := d.detail(t, s.Name)
	gw := gateway(t, det.Subnet)
	probe := func(port int) error {
		_, err := docker("exec", d.id, "docker", "exec", s.Name+"-php", "timeout", "3", "bash", "-c",
			fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", gw, port))
		return err
	}
	if err := probe(1025); err != nil {
		t.Fatalf("SMTP on %s:1025 does not connect from %s-php, so the probe proves nothing: %v", gw, s.Name, err)
	}
	if err := probe(8500); err == nil {
		t.Errorf("the dashboard's port %s:8500 connects from %s-php: instances must not reach it", gw, s.Name)
	}
}

func (d *dashDind) detail(t *testing.T, name string) ctl.InstanceDetail {
	t.Helper()
	var det ctl.InstanceDetail
	out := mustDocker(t, "exec", d.id, "ctl", "status", name, "--json")
	if err := json.Unmarshal([]byte(out), &det); err != nil {
		t.Fatal(err)
	}
	return det
}

// gateway is the first address of a subnet, where dockerd puts the bridge's gateway.
func gateway(t *testing.T, subnet string) string {
	t.Helper()
	_, n, err := net.ParseCIDR(subnet)
	if err != nil {
		t.Fatalf("subnet %q: %v", subnet, err)
	}
	ip := n.IP.To4()
	return fmt.Sprintf("%d.%d.%d.%d", ip[0], ip[1], ip[2], ip[3]+1)
}

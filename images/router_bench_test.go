package images_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// TestBenchRouter is make bench-router: on the router's own wp-dind (conf/instances.toml's
// sites), the proxy's overhead on one site, how long a new site's first route takes, and,
// once that site is asleep, its memory and how long a request takes to wake it. It ends
// with one line: route_add_ms= wake_s= proxy_overhead_ms= asleep_site_mib=.
func TestBenchRouter(t *testing.T) {
	requireEnv(t, envBenchRouter, "bench-router")
	r := newRouterDind(t)
	r.up(10 * time.Minute)
	s := r.sites[0]
	overhead := r.proxyOverhead(t, s, 200)

	start := time.Now()
	if err := os.WriteFile(filepath.Join(r.conf, "instances.toml"), []byte(r.withAddedSite(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := r.waitStatus("the added site converged and routed", 5*time.Minute, all(awake(addedSite.Name), inRouter(addedSite.Name)))
	rs, _ := routerSite(st, addedSite.Name)
	t.Logf("%s: its first route live %.0f ms after the apply began; converged %.1f s after instances.toml changed",
		addedSite.Name, ms(rs.RouteAdd), time.Since(start).Seconds())

	r.waitStatus("the added site asleep", 3*time.Minute, instanceState(addedSite.Name, ctl.InstanceSleeping))
	r.waitStates(t, map[string]string{addedSite.Name + "-php": "exited", addedSite.Name + "-db": "exited"})
	mib := r.siteMemory(t, addedSite.Name)
	t.Logf("%s asleep: %.1f MiB in its running containers", addedSite.Name, mib)
	woke := time.Now()
	resp, body, err := fetch(r.client(nil, true), r.named("https", addedSite.Name+".localhost")+"/")
	if err == nil {
		err = wordpress(resp, body, addedSite)
	}
	wake := time.Since(woke)
	if err != nil {
		t.Fatalf("the request that wakes %s: %v", addedSite.Name, err)
	}
	fmt.Printf("route_add_ms=%.0f wake_s=%.2f proxy_overhead_ms=%.2f asleep_site_mib=%.1f\n", ms(rs.RouteAdd), wake.Seconds(), overhead, mib)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// proxyOverhead is the median time to first byte of s's front page through the router's
// HTTPS name minus that on its port URL, over n requests each, alternating, on kept-alive
// connections (a first request on each warms them and the page's caches).
func (r *routerDind) proxyOverhead(t *testing.T, s site, n int) float64 {
	t.Helper()
	c := r.client(nil, false)
	urls := []string{r.named("https", s.Name+".localhost") + "/", fmt.Sprintf("http://localhost:%d/", s.Port)}
	ttfb := make([][]float64, len(urls))
	for i := range n + 1 {
		for j, u := range urls {
			d, err := firstByte(c, u)
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			if i > 0 {
				ttfb[j] = append(ttfb[j], ms(d))
			}
		}
	}
	routed, direct := median(ttfb[0]), median(ttfb[1])
	t.Logf("median TTFB over %d requests: %.2f ms through the router (%s), %.2f ms on the port (%s)", n, routed, urls[0], direct, urls[1])
	return routed - direct
}

// firstByte is the time from sending a GET of u to the answer's first byte; the answer
// must be a 200.
func firstByte(c *http.Client, u string) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	var sent, first time.Time
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { sent = time.Now() },
		GotFirstResponseByte: func() { first = time.Now() },
	}))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return first.Sub(sent), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// siteMemory is the memory (MiB, docker stats) of the instance's running containers in the
// inner engine: an asleep site's web server alone.
func (r *routerDind) siteMemory(t *testing.T, name string) float64 {
	t.Helper()
	out := mustDocker(t, "exec", r.id, "docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}")
	total, seen := 0.0, 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], name+"-") {
			continue
		}
		v, err := mebibytes(f[1])
		if err != nil {
			t.Fatalf("docker stats: %v in %q", err, line)
		}
		total += v
		seen++
	}
	if seen == 0 {
		t.Fatalf("docker stats shows no running container of %s:\n%s", name, out)
	}
	return total
}

// mebibytes parses docker stats' "12.5MiB" (B, KiB, MiB, GiB).
func mebibytes(s string) (float64, error) {
	for unit, f := range map[string]float64{"GiB": 1024, "MiB": 1, "KiB": 1.0 / 1024, "kB": 1.0 / 1024} {
		if v, ok := strings.CutSuffix(s, unit); ok {
			n, err := strconv.ParseFloat(v, 64)
			return n * f, err
		}
	}
	if v, ok := strings.CutSuffix(s, "B"); ok {
		n, err := strconv.ParseFloat(v, 64)
		return n / (1 << 20), err
	}
	return 0, fmt.Errorf("no size: %q", s)
}

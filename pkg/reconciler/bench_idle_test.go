package reconciler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestBenchIdle is `make bench-idle` (WPDIND_BENCH=1): the lean defaults' figures on the real
// engine. Two sites as conf/instances.toml declares them (PHP 8.4 and PHP 7.4, MariaDB 11.8,
// nginx 1.26) converge; after idleWait of no traffic, docker stats gives each container's
// memory; then each front page is asked 50 times, warm, and the median TTFB is taken. It
// ends with one line:
//
//	idle_db_mib=.. idle_php_mib=.. idle_web_mib=.. idle_site_mib=.. ttfb_84_ms=.. ttfb_74_ms=..
//
// (the idle figures are the medians of the two sites').
func TestBenchIdle(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_BENCH", 2, "wp-php:8.4", "wp-php:7.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	a := itInstance{name: w.instance("a"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 231, port: w.ports[0]}
	b := itInstance{name: w.instance("b"), php: "7.4", dbVersion: "11.8", web: "1.26", id: 232, port: w.ports[1]}
	writeFileAtomic(t, w.file, itFile(a, b))
	r := startReconciler(t, w.eng, w.opt)
	<-r.Ready()
	waitSites(t, []itInstance{a, b})
	ttfb := map[string]float64{}
	for _, in := range []itInstance{a, b} {
		ttfb[in.php] = medianTTFB(t, in.port, 50)
		fmt.Printf("bench: opcache of %s (PHP %s) after its front pages: %s\n", in.name, in.php, opcacheUsage(t, in.name+"-php"))
	}
	time.Sleep(idleWait) // no traffic: what an idle site costs is the point
	mem := map[instance.Role][]float64{}
	var sites []float64
	for _, in := range []itInstance{a, b} {
		site := 0.0
		for _, role := range instance.Roles {
			mib := containerMiB(t, instance.ContainerName(in.name, role))
			fmt.Printf("bench: idle %s (PHP %s) %s %.1f MiB\n", in.name, in.php, role, mib)
			mem[role] = append(mem[role], mib)
			site += mib
		}
		sites = append(sites, site)
	}
	fmt.Printf("idle_db_mib=%.1f idle_php_mib=%.1f idle_web_mib=%.1f idle_site_mib=%.1f ttfb_84_ms=%.1f ttfb_74_ms=%.1f\n",
		median(mem[instance.RoleDB]), median(mem[instance.RolePHP]), median(mem[instance.RoleWeb]), median(sites), ttfb["8.4"], ttfb["7.4"])
}

// idleWait is how long the idle figures wait without traffic: past PHP-FPM's idle timeout
// and MariaDB's first purge, as `make bench-density` waits.
const idleWait = 60 * time.Second

// containerMiB is the container's memory as `docker stats` shows it (usage without the
// page cache it may drop), in MiB.
func containerMiB(t *testing.T, name string) float64 {
	t.Helper()
	out := dockerOut(t, "stats", "--no-stream", "--format", "{{.MemUsage}}", name)
	v, err := testutil.ParseMemUsage(out)
	if err != nil {
		t.Fatalf("docker stats %s: %v", name, err)
	}
	return v
}

// medianTTFB is the site's median warm front-page TTFB over n requests, in ms.
func medianTTFB(t *testing.T, port, n int) float64 {
	return testutil.MedianTTFB(t, fmt.Sprintf("http://127.0.0.1:%d/", port), fmt.Sprintf("localhost:%d", port), n)
}

func median(v []float64) float64 { return testutil.Median(v) }

// opcacheUsage is what the PHP container's opcache holds, asked of its PHP-FPM over FastCGI
// (a script written to /tmp in the container: the command line has no opcache).
func opcacheUsage(t *testing.T, php string) string {
	t.Helper()
	const script = `<?php $s = opcache_get_status(false); $i = $s['interned_strings_usage']; $m = $s['memory_usage'];
printf("scripts=%d used_mb=%.2f interned_used_mb=%.2f interned_buffer_mb=%.2f", $s['opcache_statistics']['num_cached_scripts'],
	$m['used_memory'] / 1048576, $i['used_memory'] / 1048576, $i['buffer_size'] / 1048576);`
	out := dockerOut(t, "exec", "-e", "SCRIPT_FILENAME=/tmp/wp-dind-bench-opcache.php", "-e", "REQUEST_METHOD=GET", php, "sh", "-c",
		`printf '%s' "$1" > /tmp/wp-dind-bench-opcache.php && cgi-fcgi -bind -connect 127.0.0.1:9000; rm -f /tmp/wp-dind-bench-opcache.php`, "sh", script)
	if i := strings.Index(out, "scripts="); i >= 0 {
		return out[i:]
	}
	return "unknown: " + out
}

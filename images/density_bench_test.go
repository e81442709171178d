package images_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// envBenchDensity runs TestBenchDensity (make bench-density).
const envBenchDensity = "WPDIND_BENCH_DENSITY"

// densityKept is how many of the 99 sites stay after the removal of the others.
const densityKept = 9

// densitySites are the 99 sites of every port of 8000-8099 but 8080 (phpMyAdmin's), on the
// default stack. The nine kept after the removal have ids 1-9; the removed ones 11-100, so
// that none of their networks is one of the ten pool networks kept from boot.
func densitySites() []site {
	var out []site
	for port := 8000; port <= 8099; port++ {
		if port == 8080 {
			continue
		}
		n := len(out) + 1
		id := n
		if n > densityKept {
			id = n + 1
		}
		out = append(out, site{Name: fmt.Sprintf("d%02d", n), ID: id, Port: port, Title: fmt.Sprintf("Density site %d", n)})
	}
	return out
}

// densityFigures are what TestBenchDensity measures; docs/operations.md, "Density", says how.
type densityFigures struct {
	allServing, remove90         time.Duration
	newSite, newSiteInstall      float64 // medians of 5, s
	idleMedian, idleMax, dindMiB float64
	idleRoles                    map[string]float64 // median per container role (db, php, web)
	rssMiB, noopMs, ttfbMs       float64
	removedLeft, networksLeft    int
	archived                     int
	peer                         peerFigures
}

// TestBenchDensity is make bench-density: wp-dind as a user runs it (its own container,
// volume, folders and host ports), 99 sites saved at once in instances.toml and timed to
// all serving, their idle memory after 60 s without traffic, wpinit's RSS, no-op passes on
// the real engine, the removal of 90 of them, then single sites added with the template warm
// and with none, and WordPress Playground's CLI on the same WordPress core as the peer. It
// ends with one line of figures.
func TestBenchDensity(t *testing.T) {
	requireEnv(t, envBenchDensity, "bench-density")
	sites := densitySites()
	d := newDind(t, sites)
	d.declare(nil)
	metricsPort := testutil.FreePorts(t, 1)[0]
	d.start("-p", fmt.Sprintf("127.0.0.1:%d:8500", metricsPort))
	d.waitStatus("services ready and images loaded", 15*time.Minute, all(servicesReady, imagesDone))
	var f densityFigures

	start := time.Now()
	d.declare(sites)
	if _, err := d.waitSites(sites, 40*time.Minute); err != nil {
		t.Fatal(err)
	}
	f.allServing = time.Since(start)
	t.Logf("99 sites serving %.1f s after the save", f.allServing.Seconds())

	time.Sleep(60 * time.Second) // no traffic: what an idle site costs
	f.idleMedian, f.idleMax, f.idleRoles = idleSites(t, d, sites)
	f.dindMiB = mustMiB(t, mustDocker(t, "stats", "--no-stream", "--format", "{{.MemUsage}}", d.id))
	f.rssMiB = wpinitRSS(t, d)
	f.noopMs = noopPasses(t, d, sites, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	t.Logf("idle: site median %.1f MiB, max %.1f MiB; wp-dind container %.0f MiB; wpinit RSS %.1f MiB; no-op pass %.1f ms",
		f.idleMedian, f.idleMax, f.dindMiB, f.rssMiB, f.noopMs)

	removeNinety(t, d, sites, &f)
	added := newSites(t, d, sites, &f)
	f.ttfbMs = testutil.MedianTTFB(t, d.siteBase(sites[0])+"/", siteHost(sites[0]), 50)
	f.peer = benchPlayground(t)
	t.Logf("sites running at the end: %d", densityKept+len(added))

	fmt.Printf("bench: new_site_s is a site added to the running set with its template warm (median of 5); with no template (the full install) new_site_install_s=%.1f\n", f.newSiteInstall)
	fmt.Printf("bench: idle_site_max_mib=%.1f idle_db_mib=%.1f idle_php_mib=%.1f idle_web_mib=%.1f dind_container_mib=%.0f removed_containers_left=%d removed_networks_left=%d archived=%d\n",
		f.idleMax, f.idleRoles["db"], f.idleRoles["php"], f.idleRoles["web"], f.dindMiB, f.removedLeft, f.networksLeft, f.archived)
	if f.peer.err != nil {
		fmt.Printf("bench: the peer did not run: %v\n", f.peer.err)
	}
	fmt.Printf("playground_new_site_s=%.1f playground_idle_mib=%.0f playground_ttfb_ms=%.1f wpdind_ttfb_ms=%.1f\n",
		f.peer.newSite, f.peer.idleMiB, f.peer.ttfbMs, f.ttfbMs)
	fmt.Printf("new_site_s=%.1f idle_site_mib=%.1f sites=%d all_serving_s=%.1f noop_real_ms=%.1f wpinit_rss_mib=%.1f remove_90_s=%.1f\n",
		f.newSite, f.idleMedian, len(sites), f.allServing.Seconds(), f.noopMs, f.rssMiB, f.remove90.Seconds())
}

// idleSites reads docker stats of the inner engine: each site's database, PHP and web
// containers summed, the median and the max over sites, and each role's median.
func idleSites(t *testing.T, d *dind, sites []site) (median, max float64, roles map[string]float64) {
	t.Helper()
	out := mustDocker(t, "exec", d.id, "docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}")
	per := map[string]float64{}
	perRole := map[string]map[string]float64{} // site, role
	for _, line := range strings.Split(out, "\n") {
		name, mem, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		i := strings.LastIndex(name, "-")
		if i < 0 {
			continue
		}
		mib := mustMiB(t, mem)
		per[name[:i]] += mib
		if perRole[name[:i]] == nil {
			perRole[name[:i]] = map[string]float64{}
		}
		perRole[name[:i]][name[i+1:]] = mib
	}
	var v []float64
	byRole := map[string][]float64{}
	for _, s := range sites {
		mib, ok := per[s.Name]
		if !ok {
			t.Fatalf("no docker stats of %s", s.Name)
		}
		v = append(v, mib)
		max = maxf(max, mib)
		for r, m := range perRole[s.Name] {
			byRole[r] = append(byRole[r], m)
		}
	}
	roles = map[string]float64{}
	for r, m := range byRole {
		roles[r] = testutil.Median(m)
	}
	return testutil.Median(v), max, roles
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func mustMiB(t *testing.T, s string) float64 {
	t.Helper()
	v, err := testutil.ParseMemUsage(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// noopPasses saves the same file five times (each save is a pass with nothing to do) and
// returns the median duration of those passes, from /metrics' pass histogram.
func noopPasses(t *testing.T, d *dind, sites []site, metrics string) float64 {
	t.Helper()
	var ms []float64
	for range 5 {
		sum0, n0 := passHistogram(t, metrics)
		d.declare(sites)
		var sum float64
		var n int
		testutil.WaitFor(t, time.Minute, "a pass after the save", func() bool {
			sum, n = passHistogram(t, metrics)
			return n > n0
		})
		ms = append(ms, (sum-sum0)/float64(n-n0)*1000)
		time.Sleep(time.Second)
	}
	t.Logf("no-op passes over %d sites: %v ms", len(sites), ms)
	return testutil.Median(ms)
}

// passHistogram is the sum (s) and count of wpdind_reconcile_pass_duration_seconds.
func passHistogram(t *testing.T, url string) (float64, int) {
	t.Helper()
	code, body := httpGet(t, url)
	if code != 200 {
		t.Fatalf("%s: %d", url, code)
	}
	var sum float64
	var n int
	for _, line := range strings.Split(body, "\n") {
		name, v, _ := strings.Cut(line, " ")
		switch name {
		case "wpdind_reconcile_pass_duration_seconds_sum":
			sum, _ = strconv.ParseFloat(v, 64)
		case "wpdind_reconcile_pass_duration_seconds_count":
			n, _ = strconv.Atoi(v)
		}
	}
	return sum, n
}

// removeNinety saves the file with the first nine sites and times until no container or
// network of the 90 others is left in the inner engine and each one's folder is in the
// archive.
func removeNinety(t *testing.T, d *dind, sites []site, f *densityFigures) {
	t.Helper()
	removed := map[string]bool{}
	nets := map[string]bool{}
	for _, s := range sites[densityKept:] {
		removed[s.Name] = true
		nets["wp-network-"+strconv.Itoa(s.ID)] = true
	}
	start := time.Now()
	d.declare(sites[:densityKept])
	err := testutil.PollEvery(20*time.Minute, time.Second, func() bool {
		f.removedLeft, f.networksLeft, f.archived = removalLeft(t, d, removed, nets)
		return f.removedLeft+f.networksLeft == 0 && f.archived == len(removed)
	})
	f.remove90 = time.Since(start)
	t.Logf("90 sites removed in %.1f s: %d of their containers and %d of their networks left, %d archived",
		f.remove90.Seconds(), f.removedLeft, f.networksLeft, f.archived)
	if err != nil {
		t.Errorf("the removal of 90 sites did not end: %v", err)
	}
}

// removalLeft counts the removed sites' containers and networks still in the inner engine,
// and their folders in the archive.
func removalLeft(t *testing.T, d *dind, removed, nets map[string]bool) (containers, networks, archived int) {
	t.Helper()
	for _, name := range strings.Fields(mustDocker(t, "exec", d.id, "docker", "ps", "-a", "--format", "{{.Names}}")) {
		if i := strings.LastIndex(name, "-"); i > 0 && removed[name[:i]] {
			containers++
		}
	}
	for _, name := range strings.Fields(mustDocker(t, "exec", d.id, "docker", "network", "ls", "--format", "{{.Name}}")) {
		if nets[name] {
			networks++
		}
	}
	entries, _ := os.ReadDir(filepath.Join(d.inst, ".archive"))
	for _, e := range entries {
		if archivedOf(e.Name(), removed) {
			archived++
		}
	}
	return containers, networks, archived
}

// archivedOf reports whether an archive folder (NAME-YYYYmmdd-HHMMSS...) is of a removed site.
func archivedOf(folder string, removed map[string]bool) bool {
	for name := range removed {
		if strings.HasPrefix(folder, name+"-") {
			return true
		}
	}
	return false
}

// newSites adds single sites to the running set, on the removed sites' ports: five with the
// template warm, then five with no template (the templates folder deleted before each, once
// the template the last one made is there). It returns the sites added.
func newSites(t *testing.T, d *dind, sites []site, f *densityFigures) []site {
	t.Helper()
	set := append([]site(nil), sites[:densityKept]...)
	add := func(i int) float64 {
		s := sites[densityKept+i]
		s.Name, s.ID, s.Title = fmt.Sprintf("n%02d", i+1), 101+i, fmt.Sprintf("New site %d", i+1)
		set = append(set, s)
		start := time.Now()
		d.declare(set)
		if _, err := d.waitSites([]site{s}, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		logSteps(t, d, start, s.Name, took)
		return took.Seconds()
	}
	templates := filepath.Join(d.inst, ".templates")
	var warm, install []float64
	for i := range 5 {
		warm = append(warm, add(i))
	}
	for i := 5; i < 10; i++ {
		waitTemplateFile(t, templates)
		if err := os.RemoveAll(templates); err != nil {
			t.Fatal(err)
		}
		install = append(install, add(i))
	}
	f.newSite, f.newSiteInstall = testutil.Median(warm), testutil.Median(install)
	t.Logf("single sites added: template warm %v s, no template %v s", warm, install)
	return set[densityKept:]
}

// newSiteSteps are wpinit's log lines that time a new site's steps (docs/operations.md,
// "Where a new site's time goes").
var newSiteSteps = []string{"reconcile pass: ", "converging container: ", "seeded site from template: ",
	"personalized instance: ", "site from template serves: ", "instance running: "}

// logSteps logs wpinit's lines of the new site name's steps since start, each with its time
// from the save, and the site's first 200 after took. The site's last line may reach the
// engine's log after its 200: the log is read again until it is there, 5 s at most.
func logSteps(t *testing.T, d *dind, start time.Time, name string, took time.Duration) {
	t.Helper()
	mark := "instance=" + name + " "
	var log string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if log = wpinitLog(t, d, start); strings.Contains(log, "instance running: "+mark) || time.Now().After(deadline) {
			break
		}
	}
	for _, line := range strings.Split(log, "\n") {
		stamp, rest, _ := strings.Cut(line, " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil || !slices.ContainsFunc(newSiteSteps, func(step string) bool { return strings.Contains(rest, step) }) {
			continue
		}
		if strings.Contains(rest, "reconcile pass: ") || strings.Contains(rest+" ", mark) {
			t.Logf("%s: +%.2fs %s", name, at.Sub(start).Seconds(), rest)
		}
	}
	t.Logf("%s: +%.2fs its first 200", name, took.Seconds())
}

// waitTemplateFile waits until the templates folder holds a finished template.
func waitTemplateFile(t *testing.T, dir string) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Minute, "a site template", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*", "template.json"))
		return len(m) > 0
	})
}

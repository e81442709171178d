package images_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchSites are n instances on the default stack (PHP 8.4, MariaDB 11.8, nginx 1.26).
func benchSites(n int) []site {
	out := make([]site, n)
	for i := range out {
		out[i] = site{Name: fmt.Sprintf("bench-%d", i+1), ID: i + 1, Port: 8001 + i, Title: fmt.Sprintf("Bench site %d", i+1)}
	}
	return out
}

// bootFigures are what TestBenchBoot measures; docs/operations.md, "Boot figures", says how.
type bootFigures struct {
	servicesReady, oneInstance, tenCold, tenWarm time.Duration
	loadFirst, loadSecond                        time.Duration
	rssMiB                                       float64
}

// TestBenchBoot times wp-dind's boot on this machine: from docker run to the services ready
// and to one instance serving 200 (a cold boot: fresh volume and instances folder), to ten
// instances serving 200 cold and warm (docker start of the same container after docker stop),
// the image loader's pass on the first and the second boot, and wpinit's resident memory with
// ten instances. It ends with one line of figures. make bench-boot runs it (WPDIND_BENCH=1).
func TestBenchBoot(t *testing.T) {
	requireEnv(t, envBench, "bench-boot")
	var f bootFigures
	t.Run("one instance cold", func(t *testing.T) { f.servicesReady, f.oneInstance = benchCold(t, 1) })
	t.Run("ten instances", func(t *testing.T) { benchTen(t, &f) })
	if t.Failed() {
		return
	}
	t.Logf("ratios: ten cold / one cold %.2f, ten cold / ten warm %.2f, first / second image load %.0f",
		f.tenCold.Seconds()/f.oneInstance.Seconds(), f.tenCold.Seconds()/f.tenWarm.Seconds(),
		f.loadFirst.Seconds()/f.loadSecond.Seconds())
	fmt.Printf("services_ready_s=%.1f one_instance_s=%.1f ten_instances_cold_s=%.1f ten_instances_warm_s=%.1f "+
		"image_load_first_s=%.1f image_load_second_s=%.3f wpinit_rss_mib=%.1f\n",
		f.servicesReady.Seconds(), f.oneInstance.Seconds(), f.tenCold.Seconds(), f.tenWarm.Seconds(),
		f.loadFirst.Seconds(), f.loadSecond.Seconds(), f.rssMiB)
}

// benchCold boots a fresh wp-dind with n instances and returns the time from docker run to
// the services ready and to every site serving 200.
func benchCold(t *testing.T, n int) (services, sites time.Duration) {
	d := newDind(t, benchSites(n))
	dindFlags(t, d.ref) // decided before the clock starts
	start := time.Now()
	d.start()
	services = benchServices(t, d, start)
	sites = benchSitesUp(t, d, start)
	st, err := d.status()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instance(s) cold: services ready %.1f s, sites 200 %.1f s after docker run; image load %.1f s",
		n, services.Seconds(), sites.Seconds(), st.Images.Duration.Seconds())
	return services, sites
}

// benchTen: ten instances cold, wpinit's RSS, then docker stop and start, warm.
func benchTen(t *testing.T, f *bootFigures) {
	d := newDind(t, benchSites(10))
	dindFlags(t, d.ref)
	start := time.Now()
	d.start()
	benchServices(t, d, start)
	f.tenCold = benchSitesUp(t, d, start)
	f.loadFirst = benchImageLoad(t, d)
	f.rssMiB = wpinitRSS(t, d)
	t.Logf("ten instances cold: %.1f s; image load %.1f s; wpinit VmRSS %.1f MiB", f.tenCold.Seconds(), f.loadFirst.Seconds(), f.rssMiB)

	stop := time.Now()
	mustDocker(t, "stop", "-t", "100", d.id)
	t.Logf("docker stop with ten instances: %.1f s", time.Since(stop).Seconds())
	start = time.Now()
	d.restart()
	warm := benchServices(t, d, start)
	f.tenWarm = benchSitesUp(t, d, start)
	f.loadSecond = benchImageLoad(t, d)
	t.Logf("ten instances warm: services %.1f s, sites %.1f s after docker start; image pass %.3f s; wpinit VmRSS %.1f MiB",
		warm.Seconds(), f.tenWarm.Seconds(), f.loadSecond.Seconds(), wpinitRSS(t, d))
}

// benchServices waits for the services and returns the time since start.
func benchServices(t *testing.T, d *dind, start time.Time) time.Duration {
	d.waitStatus("services ready", 3*time.Minute, servicesReady)
	return time.Since(start)
}

// benchSitesUp waits for every site to serve 200 and returns the time since start.
func benchSitesUp(t *testing.T, d *dind, start time.Time) time.Duration {
	if _, err := d.waitSites(d.sites, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// benchImageLoad is the loader's pass as its status reports it, once settled.
func benchImageLoad(t *testing.T, d *dind) time.Duration {
	st, _ := d.waitStatus("images settled", time.Minute, imagesDone)
	return st.Images.Duration
}

// wpinitRSS is VmRSS of PID 1 (wpinit) in the container, in MiB.
func wpinitRSS(t *testing.T, d *dind) float64 {
	out := mustDocker(t, "exec", d.id, "grep", "^VmRSS:", "/proc/1/status")
	f := strings.Fields(out) // VmRSS: 12345 kB
	if len(f) != 3 || f[2] != "kB" {
		t.Fatalf("VmRSS line %q", out)
	}
	kb, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return float64(kb) / 1024
}

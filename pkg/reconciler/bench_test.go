package reconciler

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// TestBenchReconcile is `make bench-reconcile` (WPDIND_BENCH=1). It prints, last, one line:
//
//	add_one_s=.. add_ten_s=.. noop_100_ms=.. sequential_ten_s=..
//
// add_one_s: a running reconciler, one new instance saved in the file, until the test sees
// 200 from its installed WordPress at 127.0.0.1:PORT. add_ten_s: the same for ten instances
// saved at once. noop_100_ms: the median of 5 passes with 100 instances declared and in shape,
// against the in-process fake Engine API: 100 real instances would take every port of
// 8000-8099 and 300 containers on the test engine. The same no-op pass on the real engine,
// over the eleven instances add_ten leaves serving, is printed on a "bench:" line. sequential_ten_s:
// ten instances brought up one after another the old way, with Debian's docker-compose 1.29
// (`up -d` of the exported docker-compose.yml, then wp-dind-install, then the 200).
func TestBenchReconcile(t *testing.T) {
	eng := requireEngine(t, "WPDIND_BENCH", "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose not installed: apt-get install docker-compose")
	}
	addOne, addTen := benchAdd(t, eng)
	noop := benchNoop(t)
	seq := benchSequential(t, eng, dc)
	fmt.Printf("bench: ratio sequential_ten_s / add_ten_s = %.2f\n", seq/addTen)
	fmt.Printf("add_one_s=%.1f add_ten_s=%.1f noop_100_ms=%.2f sequential_ten_s=%.1f\n", addOne, addTen, noop, seq)
}

func benchFile(ins []itInstance) string {
	s := "version = 1\n"
	for _, i := range ins {
		s += fmt.Sprintf("[[instance]]\nname = %q\nid = %d\nport = %d\n", i.name, i.id, i.port)
	}
	return s
}

// benchAdd measures one instance, then ten at once, through a running reconciler.
func benchAdd(t *testing.T, eng docker.Engine) (float64, float64) {
	ports := freePorts(t, 11)
	dir := t.TempDir()
	root := filepath.Join(dir, "instances")
	owner := fmt.Sprintf("bench-%d", os.Getpid())
	cleanupOwner(t, owner, root)
	var ins []itInstance
	for i := 0; i < 11; i++ {
		ins = append(ins, itInstance{name: fmt.Sprintf("bench-%d", i), id: 210 + i, port: ports[i]})
	}
	file := filepath.Join(dir, "instances.toml")
	writeFileAtomic(t, file, benchFile(nil))
	opt := Options{File: file, Root: root, Owner: owner, BindAddress: "127.0.0.1", BlockExternalHTTP: true}
	r, stop := runReconciler(t, eng, opt)
	<-r.Ready()
	start := time.Now()
	writeFileAtomic(t, file, benchFile(ins[:1]))
	waitSites(t, ins[:1])
	one := time.Since(start).Seconds()
	start = time.Now()
	writeFileAtomic(t, file, benchFile(ins))
	waitSites(t, ins[1:])
	ten := time.Since(start).Seconds()
	fmt.Printf("bench: add_one %.1fs, add_ten %.1fs (parallelism %d)\n", one, ten, r.opt.Parallelism)
	if err := stop(); err != nil {
		t.Fatalf("stop reconciler: %v", err)
	}
	benchNoopReal(t, eng, opt, len(ins))
	return one, ten
}

// benchNoopReal times no-op passes of a fresh reconciler over the n instances left serving on
// the real engine, checks that they touched no container, then removes the instances.
func benchNoopReal(t *testing.T, eng docker.Engine, opt Options, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opt.Logger = testLogger(t)
	r, err := New(eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	owned := func() string {
		return dockerOut(t, "ps", "-q", "--no-trunc", "--filter", "label="+docker.OwnerFilter(opt.Owner))
	}
	before := owned()
	r.ReconcileOnce(ctx) // first sight of the instances by this reconciler
	ms := timePasses(ctx, r)
	if after := owned(); after != before || len(strings.Fields(after)) != 3*n {
		t.Fatalf("no-op passes changed the running containers:\nbefore %q\nafter  %q", before, after)
	}
	fmt.Printf("bench: noop_%d on the real engine: passes %v ms, median %.2f ms, containers untouched\n", n, ms, ms[2])
	writeFileAtomic(t, opt.File, benchFile(nil)) // tear down through the reconciler before the next figure
	r.ReconcileOnce(ctx)
	waitFor(t, 5*time.Minute, "bench instances removed", func() bool {
		return dockerOut(t, "ps", "-aq", "--filter", "label="+docker.OwnerFilter(opt.Owner)) == ""
	})
}

// timePasses runs 5 passes of r and returns their durations in ms, sorted: ms[2] is the median.
func timePasses(ctx context.Context, r *Reconciler) []float64 {
	var ms []float64
	for i := 0; i < 5; i++ {
		start := time.Now()
		r.ReconcileOnce(ctx)
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	sort.Float64s(ms)
	return ms
}

func waitSites(t *testing.T, ins []itInstance) {
	t.Helper()
	waitFor(t, 15*time.Minute, fmt.Sprintf("%d sites", len(ins)), func() bool {
		for _, in := range ins {
			if siteOK(in.port) != nil {
				return false
			}
		}
		return true
	})
}

// benchNoop times passes over 100 declared, converged instances against the fake engine.
func benchNoop(t *testing.T) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFakeDocker(t)
	dir := t.TempDir()
	writeInstances(t, filepath.Join(dir, "instances.toml"), 100)
	r := newFakeReconciler(t, f, dir)
	r.ReconcileOnce(ctx)
	f.Calls() // count from here: the no-op passes only
	ms := timePasses(ctx, r)
	calls, _ := f.Calls()
	fmt.Printf("bench: noop_100 passes %v ms, %d docker calls in 5 passes\n", ms, calls)
	return ms[2]
}

// benchSequential brings ten instances up the old design's way: one docker-compose project per
// instance, one after another, each waited for before the next.
func benchSequential(t *testing.T, eng docker.Engine, dc string) float64 {
	ctx := context.Background()
	ports := freePorts(t, 10)
	dir := t.TempDir()
	root := filepath.Join(dir, "instances")
	owner := fmt.Sprintf("bench-seq-%d", os.Getpid())
	cleanupOwner(t, owner, root)
	opts := instance.Options{Owner: owner, BindAddress: "127.0.0.1", SharedNetwork: DefaultSharedNetwork, BlockExternalHTTP: true}
	var total time.Duration
	for i := 0; i < 10; i++ {
		cfg, err := config.ParseInstances("bench.toml", []byte(benchFile([]itInstance{{name: fmt.Sprintf("seq-%d", i), id: 221 + i, port: ports[i]}})), nil)
		if err != nil {
			t.Fatal(err)
		}
		in := &cfg.Instances[0]
		// The old design's network-setup.sh made the networks before any instance: not timed.
		labels := map[string]string{docker.LabelManagedBy: docker.ManagedBy, docker.LabelOwner: owner}
		if _, err := eng.CreateNetwork(ctx, docker.NetworkSpec{Name: instance.NetworkName(in.ID), Subnet: instance.Subnet(in.ID), Gateway: instance.Gateway(in.ID), Labels: labels}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, err := instance.Prepare(root, in, opts, start)
		if err != nil {
			t.Fatal(err)
		}
		up := exec.Command(dc, "-p", in.Name, "-f", p.Layout.ComposePath(), "up", "-d")
		if out, err := up.CombinedOutput(); err != nil {
			t.Fatalf("docker-compose up %s: %v\n%s", in.Name, err, out)
		}
		install := exec.Command("docker", "exec", "-u", "www-data", instance.ContainerName(in.Name, instance.RolePHP),
			"wp-dind-install", "--url", in.URL(), "--title", in.Title, "--admin-user", in.AdminUser,
			"--admin-password", p.Secrets.AdminPassword, "--admin-email", in.AdminEmail)
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("install %s: %v\n%s", in.Name, err, strings.ReplaceAll(string(out), p.Secrets.AdminPassword, "[redacted]"))
		}
		waitSites(t, []itInstance{{name: in.Name, port: in.Port}})
		total += time.Since(start)
	}
	fmt.Printf("bench: sequential_ten %.1fs with %s\n", total.Seconds(), dc)
	return total.Seconds()
}

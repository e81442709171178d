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
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestBenchReconcile is `make bench-reconcile` (WPDIND_BENCH=1). It prints, last, one line:
//
//	add_one_s=.. add_first_s=.. add_ten_s=.. noop_100_ms=.. sequential_ten_s=..
//
// add_first_s: a running reconciler, one new instance saved in the file, until the test sees
// 200 from its installed WordPress at 127.0.0.1:PORT: the first of its kind, which installs
// itself (then its site template is made). add_one_s: the same for a second instance, once
// the template is made: a copy of it, personalized. add_ten_s: the same for ten instances
// saved at once, from the template. noop_100_ms: the median of 5 passes with 100 instances declared and in shape,
// against the in-process fake Engine API: 100 real instances would take 100 host ports and
// 300 containers on the test engine. The same no-op pass on the real engine,
// over the twelve instances add_ten leaves serving, is printed on a "bench:" line. sequential_ten_s:
// ten instances brought up one after another the old way, with Debian's docker-compose 1.29
// (`up -d` of the exported docker-compose.yml, then wp-dind-install, then the 200).
func TestBenchReconcile(t *testing.T) {
	images := []string{"wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26"}
	add := newEngineWorld(t, "WPDIND_BENCH", 12, images...)
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose not installed: apt-get install docker-compose")
	}
	addFirst, addOne, addTen := benchAdd(t, add)
	noop := benchNoop(t)
	seq := benchSequential(t, newEngineWorld(t, "WPDIND_BENCH", 10, images...), dc)
	fmt.Printf("bench: ratio sequential_ten_s / add_ten_s = %.2f\n", seq/addTen)
	fmt.Printf("add_one_s=%.1f add_first_s=%.1f add_ten_s=%.1f noop_100_ms=%.2f sequential_ten_s=%.1f\n", addOne, addFirst, addTen, noop, seq)
}

func benchFile(ins []itInstance) string {
	s := "version = 1\n"
	for _, i := range ins {
		s += fmt.Sprintf("[[instance]]\nname = %q\nid = %d\nport = %d\n", i.name, i.id, i.port)
	}
	return s
}

// benchAdd measures the first instance of a kind, a second one from its template, then ten
// at once, through a running reconciler with site templates.
func benchAdd(t *testing.T, w *engineWorld) (first, one, ten float64) {
	var ins []itInstance
	for i := 0; i < 12; i++ {
		ins = append(ins, itInstance{name: w.instance(fmt.Sprintf("b%d", i)), id: 210 + i, port: w.ports[i]})
	}
	writeFileAtomic(t, w.file, benchFile(nil))
	opt := w.opt
	opt.SiteTemplates = true
	r, stop := runReconciler(t, w.eng, opt)
	<-r.Ready()
	first = timeAdd(t, w, r, ins[:1])
	waitTemplate(t, w.root, "")
	one = timeAdd(t, w, r, ins[:2])
	ten = timeAdd(t, w, r, ins)
	fmt.Printf("bench: add_first %.1fs (install), add_one %.1fs (template), add_ten %.1fs (parallelism %d)\n", first, one, ten, r.opt.Parallelism)
	if err := stop(); err != nil {
		t.Fatalf("stop reconciler: %v", err)
	}
	benchNoopReal(t, w.eng, opt, len(ins))
	return first, one, ten
}

// timeAdd saves ins in the file and returns how long the ones it adds take to serve and
// be reported running by r (their convergence over), in s.
func timeAdd(t *testing.T, w *engineWorld, r *Reconciler, ins []itInstance) float64 {
	t.Helper()
	old, _ := os.ReadFile(w.file)
	start := time.Now()
	writeFileAtomic(t, w.file, benchFile(ins))
	var added []itInstance
	for _, in := range ins {
		if !strings.Contains(string(old), fmt.Sprintf("name = %q", in.name)) {
			added = append(added, in)
		}
	}
	waitSites(t, added)
	testutil.WaitFor(t, 5*time.Minute, "the added sites running", func() bool {
		for _, in := range added {
			if r.instanceState(in.name).State != StateRunning {
				return false
			}
		}
		return true
	})
	return time.Since(start).Seconds()
}

// benchNoopReal times no-op passes of a fresh reconciler over the n instances left serving on
// the real engine, checks that they touched no container, then removes the instances.
func benchNoopReal(t *testing.T, eng docker.Engine, opt Options, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
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
	testutil.WaitFor(t, 5*time.Minute, "bench instances removed", func() bool {
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
	testutil.WaitFor(t, 15*time.Minute, fmt.Sprintf("%d sites", len(ins)), func() bool {
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
func benchSequential(t *testing.T, w *engineWorld, dc string) float64 {
	ctx := context.Background()
	opts := w.opt.instanceOptions()
	var total time.Duration
	for i := 0; i < 10; i++ {
		src := benchFile([]itInstance{{name: w.instance(fmt.Sprintf("s%d", i)), id: 221 + i, port: w.ports[i]}})
		cfg, err := config.ParseInstances("bench.toml", []byte(src), nil, w.opt.Ports)
		if err != nil {
			t.Fatal(err)
		}
		in := &cfg.Instances[0]
		// The old design's network-setup.sh made the networks before any instance: not timed.
		labels := map[string]string{docker.LabelManagedBy: docker.ManagedBy, docker.LabelOwner: w.name}
		net := w.network(in.ID)
		if _, err := w.eng.CreateNetwork(ctx, docker.NetworkSpec{Name: net.Name, Subnet: net.Subnet.String(), Gateway: net.Gateway(), Labels: labels}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, err := instance.Prepare(w.root, in, opts, start)
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

package reconciler

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// testOptions is the one way the tests build Options: wpinit.toml's defaults (pkg/config is
// their only home), the test's file and root, sites on 127.0.0.1, no pool networks, no stop
// on exit (a test that wants it says so), and the test's log.
func testOptions(t testing.TB, file, root string) Options {
	c := config.DefaultInstances()
	c.File, c.Root, c.BindAddress, c.PoolNetworks, c.StopOnExit = file, root, "127.0.0.1", 0, false
	o := OptionsOf(&c)
	o.Logger = testLogger(t)
	o.SiteTemplates = false // a test of templates asks for them (sitetemplates_integration_test.go)
	return o
}

// The real-engine tests (make instances-test, make bench-reconcile) share this harness. They
// run only when asked (WPDIND_INTEGRATION=1, WPDIND_BENCH=1) and fail, saying why, when the
// images are absent. Each runs in a world of its own (engineWorld), so that it passes beside
// a running `make run` (which publishes 127.0.0.1:8000-8099 and uses wp-network-N on
// 172.20.N.0/24) and beside another checkout's tests on the same engine, and touches nothing
// it did not create.

// engineWorld is one real-engine test's own corner of the shared engine.
type engineWorld struct {
	eng   *docker.Client
	dir   string // the test's folder: instances.toml and the instances root
	file  string
	root  string
	name  string // the test's unique name: owner label, prefix of its instances and networks
	ports []int  // free host ports, held by nobody when returned
	opt   Options
}

// newEngineWorld connects to the engine (see requireEngine) and gives the test its own owner,
// n free ports (and a port range spanning just them), a network prefix and two /16s no
// network of the engine uses; everything with its owner label is removed at cleanup.
func newEngineWorld(t *testing.T, env string, n int, images ...string) *engineWorld {
	t.Helper()
	eng := requireEngine(t, env, images...)
	w := &engineWorld{eng: eng, dir: t.TempDir(), name: testutil.Name(t, "wpt"), ports: testutil.FreePorts(t, n)}
	w.file, w.root = filepath.Join(w.dir, "instances.toml"), filepath.Join(w.dir, "instances")
	nets := freeSubnets(t, 2)
	w.opt = testOptions(t, w.file, w.root)
	w.opt.Owner, w.opt.BlockExternalHTTP = w.name, true
	w.opt.Images = instance.Images{Prefix: testutil.ImagePrefix()} // the images under test
	w.opt.Ports = config.PortRange{First: slices.Min(w.ports), Last: slices.Max(w.ports)}
	w.opt.Network = instance.Addressing{
		NetworkPrefix: w.name + "-net-", Subnets: nets[0], SharedNetwork: w.name + "-shared", SharedSubnet: nets[1],
	}
	cleanupOwner(t, w.name, w.root)
	return w
}

// instance names the world's instance called short: unique to the run, as container names
// are engine-wide.
func (w *engineWorld) instance(short string) string { return w.name + "-" + short }

// network is the world's network of instance id.
func (w *engineWorld) network(id int) instance.Network { return w.opt.Network.Instance(id) }

// requireEngine skips unless real-engine tests are asked for, and fails when the images are not loaded.
func requireEngine(t *testing.T, env string, images ...string) *docker.Client {
	t.Helper()
	if os.Getenv(env) != "1" {
		t.Skipf("real-engine test: run with %s=1 (make instances-test / make bench-reconcile)", env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	eng, err := docker.Connect(ctx, "")
	if err != nil {
		t.Fatalf("docker engine: %v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	tags, err := eng.ImageTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, img := range images {
		if img = testutil.Image(img); !tags[img] {
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("images not loaded: %s (build them with `make images`)", strings.Join(missing, ", "))
	}
	return eng
}

// freeSubnets returns n /16s of 10.100.0.0-10.250.255.255 that overlap no network of the
// engine, from a random start, so that two runs that look at the same time rarely pick the
// same one (and when they do, the engine refuses the second's networks: it fails, it does not
// share).
func freeSubnets(t *testing.T, n int) []netip.Prefix {
	t.Helper()
	var used []netip.Prefix
	if ids := strings.Fields(dockerOut(t, "network", "ls", "-q")); len(ids) > 0 {
		out := dockerOut(t, append([]string{"network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"}, ids...)...)
		for _, s := range strings.Fields(out) {
			if p, err := netip.ParsePrefix(s); err == nil {
				used = append(used, p)
			}
		}
	}
	const first, count = 100, 151 // 10.100/16 .. 10.250/16
	start := rand.IntN(count)
	var out []netip.Prefix
	for i := 0; i < count && len(out) < n; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(first + (start+i)%count), 0, 0}), 16)
		if !slices.ContainsFunc(used, p.Overlaps) {
			out = append(out, p)
		}
	}
	if len(out) < n {
		t.Fatalf("only %d free /16s in 10.100-10.250 (engine networks: %v)", len(out), used)
	}
	return out
}

// cleanupOwner removes every container and network labelled with owner, and the folder.
func cleanupOwner(t *testing.T, owner, root string) {
	t.Helper()
	t.Cleanup(func() {
		filter := "label=" + docker.OwnerFilter(owner)
		if ids := dockerOut(t, "ps", "-aq", "--filter", filter); ids != "" {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(ids)...)...).Run()
		}
		if ids := dockerOut(t, "network", "ls", "-q", "--filter", filter); ids != "" {
			_ = exec.Command("docker", append([]string{"network", "rm"}, strings.Fields(ids)...)...).Run()
		}
		_ = os.RemoveAll(root)
	})
}

// dockerOut runs the docker CLI and returns its trimmed output ("" on error).
func dockerOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Logf("docker %s: %v: %s", strings.Join(args, " "), err, out)
		return ""
	}
	return strings.TrimSpace(string(out))
}

// containerID returns the ID of the container called name, "" when there is none.
func containerID(name string) string {
	out, err := exec.Command("docker", "inspect", "-f", "{{.Id}}", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// writeFileAtomic saves path the way editors do: a new file renamed over the old one.
func writeFileAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".instances.toml.swp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// siteOK is the test's own check of a site: GET 127.0.0.1:port, 200 from WordPress.
func siteOK(port int) error {
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return probeWordPress(context.Background(), client, fmt.Sprintf("http://127.0.0.1:%d/", port), fmt.Sprintf("localhost:%d", port))
}

// serves is siteOK tried until it holds, for a minute at most: a site's first request after
// a while, on a machine busy with the rest of the suite, has taken longer than siteOK's 5 s
// in CI. Each failed try is logged with how long it took; the error is the last one.
func serves(t *testing.T, port int) error {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		start := time.Now()
		err := siteOK(port)
		if err == nil {
			return nil
		}
		t.Logf("site on port %d: %v (after %s)", port, err, time.Since(start).Round(time.Millisecond))
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Second)
	}
}

// containerStarts is each of the instance's containers as "ID started-at": what a refused
// operation must leave as it was (untouched).
func containerStarts(t *testing.T, name string) string {
	t.Helper()
	var b strings.Builder
	for _, role := range instance.Roles {
		c := instance.ContainerName(name, role)
		out, err := exec.Command("docker", "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", c).Output()
		if err != nil {
			t.Fatalf("inspect %s: %v", c, err)
		}
		fmt.Fprintf(&b, "%s: %s\n", role, strings.TrimSpace(string(out)))
	}
	return b.String()
}

// untouched checks that a refused operation left the instance as it was: the same
// containers, not restarted (before is containerStarts' from before it), still serving.
func untouched(t *testing.T, name string, port int, before string) {
	t.Helper()
	if now := containerStarts(t, name); now != before {
		t.Errorf("a refused operation touched %s's containers:\n%s\nwas\n%s", name, now, before)
	}
	if err := serves(t, port); err != nil {
		t.Errorf("%s after a refused operation: %v", name, err)
	}
}

// passAfter triggers a pass and waits until one has started after the trigger and ended:
// what a check that something must not happen waits for, instead of a sleep.
func passAfter(t *testing.T, r *Reconciler, timeout time.Duration) {
	t.Helper()
	asked := time.Now()
	r.Trigger("test: wait for a pass")
	testutil.WaitFor(t, timeout, "a pass after the trigger", func() bool { return r.Status().LastPass.After(asked) })
}

// startReconciler runs a reconciler over the real engine until the test ends.
func startReconciler(t *testing.T, eng docker.Engine, opt Options) *Reconciler {
	t.Helper()
	r, stop := runReconciler(t, eng, opt)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// runReconciler runs a reconciler whose stop the test controls: stop cancels Run and
// returns its error (once; the cleanup stops it too when the test did not).
func runReconciler(t *testing.T, eng docker.Engine, opt Options) (*Reconciler, func() error) {
	t.Helper()
	r, err := New(eng, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return r, stop
}

// testLogger logs into the test's output, and into also (what a test checks its log with),
// at WPDIND_TEST_LOG's level (default info).
func testLogger(t testing.TB, also ...io.Writer) hclog.Logger {
	out := io.MultiWriter(append([]io.Writer{testWriter{t}}, also...)...)
	return hclog.New(&hclog.LoggerOptions{Name: "reconciler", Level: hclog.LevelFromString(os.Getenv("WPDIND_TEST_LOG")), Output: out})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (r *Reconciler) instanceState(name string) InstanceStatus {
	for _, s := range r.Status().Instances {
		if s.Name == name {
			return s
		}
	}
	return InstanceStatus{}
}

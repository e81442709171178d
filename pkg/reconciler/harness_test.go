package reconciler

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// The real-engine tests (make instances-test, make bench-reconcile) share this harness. They
// run only when asked (WPDIND_INTEGRATION=1) and fail, saying why, when the images are absent.

// requireEngine skips unless integration tests are asked for, and fails when the images are not loaded.
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
		if !tags[img] {
			missing = append(missing, img)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("images not loaded: %s (build them with `make images`)", strings.Join(missing, ", "))
	}
	return eng
}

// freePorts returns n ports of 8000-8099, from the top, that nothing listens on.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for p := 8099; p >= 8000 && len(out) < n; p-- {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		out = append(out, p)
	}
	if len(out) < n {
		t.Fatalf("only %d free ports in 8000-8099", len(out))
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

// waitFor polls cond every 200 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
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
	opt.Logger = testLogger(t)
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

// testLogger logs into the test's output, at WPDIND_TEST_LOG's level (default info).
func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "reconciler", Level: hclog.LevelFromString(os.Getenv("WPDIND_TEST_LOG")), Output: testWriter{t}})
}

type testWriter struct{ t *testing.T }

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

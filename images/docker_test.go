package images_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// testLabel marks every object a test creates with the test's name and this run, so a
// leftover can be traced to its run and removed; each test removes its own objects (by ID
// or by its own unique name) in t.Cleanup and touches nothing else.
const testLabel = "org.wp-dind.test"

// runID tells this run of the test binary from another one on the same engine (a second
// checkout, a bench beside make test).
var runID = func() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// dockerTimeout bounds each docker CLI call; waits for health have their own deadline.
const dockerTimeout = 2 * time.Minute

// docker runs the docker CLI and returns its trimmed stdout; stderr goes into the error.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s: %w: %s",
			strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mustDocker is docker for steps whose failure ends the test.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// labelValue is testLabel for t: its name (Docker accepts it as a label value) and the run.
func labelValue(t *testing.T) string { return testLabel + "=" + t.Name() + "@" + runID }

// newNetwork creates a labelled user-defined network (container names resolve on it) under
// a name of its own (testutil.Name), so that two runs never share one.
func newNetwork(t *testing.T) string {
	t.Helper()
	name := testutil.Name(t, "wpt")
	mustDocker(t, "network", "create", "--label", labelValue(t), name)
	t.Cleanup(func() {
		if _, err := docker("network", "rm", name); err != nil {
			t.Logf("remove network: %v", err)
		}
	})
	return name
}

// newVolume creates a labelled named volume.
func newVolume(t *testing.T) string {
	t.Helper()
	name := mustDocker(t, "volume", "create", "--label", labelValue(t))
	t.Cleanup(func() {
		if _, err := docker("volume", "rm", "-f", name); err != nil {
			t.Logf("remove volume: %v", err)
		}
	})
	return name
}

// runContainer starts image detached with the given docker run options, labelled, with a
// fast health interval (the image's own health command), removed at cleanup. On failure
// the container's output is logged.
func runContainer(t *testing.T, image string, opts ...string) string {
	t.Helper()
	id, err := startContainer(t, image, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// startContainer is runContainer returning the error of docker run; a container that was
// created is removed at cleanup either way.
func startContainer(t *testing.T, image string, opts ...string) (string, error) {
	t.Helper()
	args := append([]string{"run", "-d", "--label", labelValue(t), "--health-interval", "1s"}, opts...)
	id, err := docker(append(args, image)...)
	if id != "" {
		t.Cleanup(func() {
			if t.Failed() {
				logs, _ := docker("logs", "--tail", "30", id)
				t.Logf("%s (%s) output:\n%s", image, shortID(id), logs)
			}
			if _, err := docker("rm", "-f", "-v", id); err != nil {
				t.Logf("remove container: %v", err)
			}
		})
	}
	return id, err
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// errExited means the container stopped while a test waited for it to become healthy.
var errExited = errors.New("container exited")

// pollDocker is how often at most a wait asks the engine again: each ask is a docker CLI
// process, and the machine's two cores are shared.
const pollDocker = 250 * time.Millisecond

// waitHealthy polls the container's health status until healthy, its exit, or timeout,
// and returns how long it took.
func waitHealthy(id string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var failed error // ends the wait: inspect failed or the container exited
	err := testutil.PollEvery(timeout, pollDocker, func() bool {
		out, err := docker("inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", id)
		switch {
		case err != nil:
			failed = err
		case strings.HasSuffix(out, " healthy"):
			return true
		case !strings.HasPrefix(out, "running"):
			failed = fmt.Errorf("%s: %w (%s)", shortID(id), errExited, out)
		}
		return failed != nil
	})
	switch {
	case failed != nil:
		return 0, failed
	case err != nil:
		last, _ := docker("inspect", "-f", "{{range .State.Health.Log}}{{.Output}}{{end}}", id)
		return 0, fmt.Errorf("%s not healthy after %s: %s", shortID(id), timeout, last)
	}
	return time.Since(start), nil
}

func mustHealthy(t *testing.T, id string, timeout time.Duration) time.Duration {
	t.Helper()
	d, err := waitHealthy(id, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// published is the 127.0.0.1 address Docker published the container's port on.
func published(t *testing.T, id, port string) string {
	t.Helper()
	out := mustDocker(t, "port", id, port+"/tcp")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") {
			return line
		}
	}
	t.Fatalf("port %s of %s is not published on 127.0.0.1: %q", port, shortID(id), out)
	return ""
}

// httpGet fetches a URL on 127.0.0.1 and returns status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("tests only talk to 127.0.0.1, not %s", url)
	}
	client := &http.Client{
		Timeout: 20 * time.Second,
		// WordPress redirects to its install page: the redirect itself is the answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, body.String()
}

// execIn runs a command in a running container, with stdin when given.
func execIn(id, stdin string, args ...string) (string, error) {
	return execAs(id, "", stdin, args...)
}

// execAs runs a command in a running container as user (the image's user when empty).
func execAs(id, user, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	full := []string{"exec", "-i"}
	if user != "" {
		full = append(full, "-u", user)
	}
	full = append(append(full, id), args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", full...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker exec %s: %w: %s", strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// checkOwned: the bind-mounted folder dir and its named files exist and belong to uid, as
// the contract's entrypoints promise for the instance's log folders.
func checkOwned(t *testing.T, dir string, uid uint32, files ...string) {
	t.Helper()
	for _, p := range append([]string{dir}, prefixAll(dir, files)...) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("log file: %v", err)
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != uid {
			t.Errorf("%s belongs to uid %d, want %d", p, st.Uid, uid)
		}
	}
}

func prefixAll(dir string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package images_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// make bench-density's peer: WordPress Playground's CLI (@wp-playground/cli, pinned in
// scripts/bench-density/package.json, installed by make playground-deps into
// WPDIND_PLAYGROUND_DIR), serving the WordPress core tree the sites use (the PHP image's
// /usr/src/wordpress), a fresh copy each try: offline it can only install from a local tree.

const (
	envPlaygroundDir = "WPDIND_PLAYGROUND_DIR"
	playgroundTries  = 5
)

// peerFigures are the Playground CLI's: new site (median of the tries, s), idle memory of
// the last try after 60 s (MiB, its process group's RSS) and its warm front page TTFB (ms).
// err says why the peer could not run.
type peerFigures struct {
	newSite, idleMiB, ttfbMs float64
	err                      error
}

// benchPlayground measures the peer, or says why it cannot run.
func benchPlayground(t *testing.T) peerFigures {
	t.Helper()
	cli := filepath.Join(os.Getenv(envPlaygroundDir), "node_modules", ".bin", "wp-playground-cli")
	if _, err := os.Stat(cli); err != nil {
		return peerFigures{err: fmt.Errorf("@wp-playground/cli is not installed in %s=%q (make playground-deps): %w", envPlaygroundDir, os.Getenv(envPlaygroundDir), err)}
	}
	core, err := wordpressCore(t)
	if err != nil {
		return peerFigures{err: err}
	}
	var f peerFigures
	var starts []float64
	for try := 1; try <= playgroundTries; try++ {
		s, err := playgroundTry(t, cli, core, try == playgroundTries, &f)
		if err != nil {
			return peerFigures{err: fmt.Errorf("try %d: %w", try, err)}
		}
		starts = append(starts, s)
	}
	f.newSite = testutil.Median(starts)
	t.Logf("playground: first 200 after %v s; idle %.0f MiB; TTFB %.1f ms", starts, f.idleMiB, f.ttfbMs)
	return f
}

// wordpressCore copies the PHP image's WordPress core out of it, once.
func wordpressCore(t *testing.T) (string, error) {
	t.Helper()
	id, err := docker("create", "--label", labelValue(t), testutil.Image("wp-php:8.4"))
	if err != nil {
		return "", fmt.Errorf("the WordPress core of %s: %w", testutil.Image("wp-php:8.4"), err)
	}
	defer docker("rm", "-f", id) //nolint:errcheck // best effort: labelled, swept with the test's objects
	dir := filepath.Join(t.TempDir(), "wordpress")
	if _, err := docker("cp", id+":/usr/src/wordpress", dir); err != nil {
		return "", fmt.Errorf("copy the WordPress core: %w", err)
	}
	return dir, nil
}

// playgroundTry serves a fresh copy of core and returns the time from the start of the CLI
// to its front page's 200, in s; the last try measures idle memory and TTFB too.
func playgroundTry(t *testing.T, cli, core string, last bool, f *peerFigures) (float64, error) {
	tree := filepath.Join(t.TempDir(), "wordpress")
	if err := os.CopyFS(tree, os.DirFS(core)); err != nil {
		return 0, err
	}
	port := testutil.FreePorts(t, 1)[0]
	logf, err := os.Create(filepath.Join(t.TempDir(), "playground.log"))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(cli, "server", "--port="+strconv.Itoa(port), "--mount-before-install="+tree+":/wordpress",
		"--wordpress-install-mode=install-from-existing-files")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer stopGroup(cmd)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := waitFrontPage(url, cmd, 3*time.Minute); err != nil {
		out, _ := os.ReadFile(logf.Name())
		return 0, fmt.Errorf("%w; its output ends: %s", err, tail(string(out), 400))
	}
	took := time.Since(start).Seconds()
	if last {
		time.Sleep(60 * time.Second)
		f.idleMiB = groupRSS(cmd.Process.Pid)
		f.ttfbMs = testutil.MedianTTFB(t, url, "", 50)
	}
	return took, nil
}

// waitFrontPage polls url until it answers 200 with a WordPress page.
func waitFrontPage(url string, cmd *exec.Cmd, timeout time.Duration) error {
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var last error
	err := testutil.PollEvery(timeout, 100*time.Millisecond, func() bool {
		if cmd.ProcessState != nil {
			return true
		}
		resp, body, err := webDo(client, http.MethodGet, url, "", nil)
		switch {
		case err != nil:
			last = err
		case resp.StatusCode != http.StatusOK || !strings.Contains(body, "wp-content"):
			last = fmt.Errorf("GET / answered %d", resp.StatusCode)
		default:
			last = nil
			return true
		}
		return false
	})
	switch {
	case err != nil:
		return fmt.Errorf("no front page within %s: %v", timeout, last)
	case last != nil:
		return errors.New("the CLI exited")
	}
	return nil
}

// groupRSS sums VmRSS over the processes of the process group pgid, in MiB (from /proc:
// the CLI runs PHP in workers of its own).
func groupRSS(pgid int) float64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kb float64
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so count after its ')'.
		rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
		if f := strings.Fields(rest); len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(path), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				kb += n
			}
		}
	}
	return kb / 1024
}

// stopGroup ends the CLI's process group (TERM, then KILL) and waits for it.
func stopGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

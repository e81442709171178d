package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestOpsIntegration drives the operations of issue 5 on one real instance (id 210), in
// order: Xdebug switched by ctl and by the file without recreating PHP, backup and restore
// of a deleted post, a corrupt archive refused, and a stop on exit that leaves a cleanly
// shut down database which the next boot starts without crash recovery.
func TestOpsIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 1, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	eng, dir, root, file, port := w.eng, w.dir, w.root, w.file, w.ports[0]
	in := itInstance{name: w.instance("ops"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 210, port: port}
	writeFileAtomic(t, file, itFile(in))
	var told hookRecorder
	opt := w.opt
	opt.Resync, opt.StopOnExit, opt.OnInstances = 20*time.Second, true, told.record
	r, stop := runReconciler(t, eng, opt)
	waitRunning(t, r, in.name)
	l := instance.Layout{Root: root, Name: in.name}
	ctx := context.Background()

	t.Run("xdebug switches through php.ini and a reload, PHP kept", func(t *testing.T) {
		probe := filepath.Join(l.WordPressDir(), "xdebug-mode.php")
		if err := os.WriteFile(probe, []byte(`<?php echo "mode=[", ini_get("xdebug.mode"), "]";`), 0o644); err != nil {
			t.Fatal(err)
		}
		php := containerID(in.name + "-php")
		expectMode(t, port, "off")
		for _, on := range []bool{true, false} {
			res, err := r.Xdebug(ctx, in.name, on)
			if err != nil || !res.Reloaded || !res.Changed {
				t.Fatalf("Xdebug(%v) = %+v, %v", on, res, err)
			}
			expectMode(t, port, instance.XdebugMode(on))
		}
		for _, on := range []bool{true, false} { // the declaration, through the reconciler
			writeFileAtomic(t, file, itFile(in)+fmt.Sprintf("xdebug = %v\n", on))
			testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("xdebug = %v served", on), func() bool {
				return modeServed(port) == instance.XdebugMode(on)
			})
		}
		if id := containerID(in.name + "-php"); id != php {
			t.Errorf("the PHP container was recreated: %s -> %s", php, id)
		}
		testutil.WaitFor(t, 10*time.Second, "the running mode recorded", func() bool {
			info, err := instance.ReadInfo(l)
			return err == nil && info.XdebugRunning == instance.XdebugOff
		})
	})

	var post string
	t.Run("backup and restore bring a deleted post back", func(t *testing.T) {
		post = wpPHP(t, in.name, `echo wp_insert_post(["post_title"=>"saved by a backup","post_status"=>"publish"]);`)
		if post == "" || post == "0" {
			t.Fatalf("insert post: %q", post)
		}
		res, err := r.Backup(ctx, in.name)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("backup: %s, %d bytes (dump %d), %d files, %s", filepath.Base(res.Path), res.Bytes, res.DumpBytes, res.Files, res.Duration)
		if filepath.Dir(res.Path) != backup.Dir(root) || !strings.HasPrefix(filepath.Base(res.Path), in.name+"-") {
			t.Errorf("archive at %s", res.Path)
		}
		wpPHP(t, in.name, `wp_delete_post(`+post+`, true);`)
		if got := postTitleSQL(t, in.name, post); got != "" {
			t.Fatalf("post still there after delete: %q", got)
		}
		rr, err := r.Restore(ctx, in.name, filepath.Base(res.Path))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("restore: %s, previous files in %s", rr.Duration, rr.SetAside)
		if got := postTitleSQL(t, in.name, post); got != "saved by a backup" {
			t.Errorf("post after restore (SQL): %q", got)
		}
		if err := pageHas(t, port, "/?p="+post, "saved by a backup"); err != nil {
			t.Errorf("post after restore (HTTP): %v", err)
		}
		if st := r.instanceState(in.name); st.State != StateRunning {
			t.Errorf("state after restore: %+v", st)
		}
	})

	t.Run("a corrupt archive changes nothing", func(t *testing.T) {
		list, err := backup.List(backup.Dir(root), in.name)
		if err != nil || len(list) == 0 {
			t.Fatalf("backups: %v, %v", list, err)
		}
		data, err := os.ReadFile(list[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(dir, "truncated.tar.gz")
		if err := os.WriteFile(bad, data[:len(data)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		before := containerStarts(t, in.name)
		if _, err := r.Restore(ctx, in.name, bad); !errors.Is(err, backup.ErrCorrupt) {
			t.Fatalf("restore of a truncated archive: %v", err)
		}
		untouched(t, in.name, port, before)
	})

	t.Run("phpMyAdmin hook told once per change", func(t *testing.T) {
		passAfter(t, r, time.Minute) // a pass that changes nothing: no call
		calls := told.get()
		if len(calls) != 1 || len(calls[0]) != 1 || calls[0][0].Name != in.name || calls[0][0].ID != in.id {
			t.Errorf("OnInstances calls: %+v", calls)
		}
	})

	t.Run("stop on exit: a clean shutdown, no crash recovery at the next boot", func(t *testing.T) {
		errLog := filepath.Join(l.LogDir(config.Component{Flavor: config.FlavorMariaDB, Version: "11.8"}), "error.log")
		began := time.Now()
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		t.Logf("stopped in %s", time.Since(began))
		var finished []string
		for _, role := range []string{"web", "php", "db"} {
			state := dockerOut(t, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}} {{.State.FinishedAt}}", in.name+"-"+role)
			f := strings.Fields(state)
			if len(f) != 3 || f[0] != "false" || f[1] != "0" {
				t.Errorf("%s after stop: %q", role, state)
				continue
			}
			finished = append(finished, f[2])
		}
		if len(finished) == 3 && !(finished[0] <= finished[1] && finished[1] <= finished[2]) {
			t.Errorf("stop order web, php, db: finished at %v", finished)
		}
		logText := readFile(t, errLog)
		if !strings.Contains(logText, "Shutdown complete") {
			t.Fatalf("no clean shutdown in %s:\n%s", errLog, tailLines(logText, 15))
		}
		offset := len(logText)
		r2 := startReconciler(t, eng, opt)
		waitRunning(t, r2, in.name)
		if got := postTitleSQL(t, in.name, post); got != "saved by a backup" {
			t.Errorf("post after the restart: %q", got)
		}
		after := readFile(t, errLog)[offset:]
		if strings.Contains(strings.ToLower(after), "crash recovery") || !strings.Contains(after, "ready for connections") {
			t.Errorf("the next boot's log:\n%s", tailLines(after, 30))
		}
	})
}

func waitRunning(t *testing.T, r *Reconciler, name string) {
	t.Helper()
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Minute):
		t.Fatal("first pass not done after 10 minutes")
	}
	if st := r.instanceState(name); st.State != StateRunning {
		t.Fatalf("%s is %q: %s", name, st.State, st.LastError)
	}
}

type hookRecorder struct {
	mu    sync.Mutex
	calls [][]config.Instance
}

func (h *hookRecorder) record(ins []config.Instance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, ins)
}

func (h *hookRecorder) get() [][]config.Instance {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]config.Instance(nil), h.calls...)
}

// pageHas GETs path until its page contains want, for a minute at most: the first request
// to a site just restored runs on cold caches, on a machine busy with the rest of the suite
// (once, in CI, it took over httpGet's 10 s). Each failed try is logged, with how long it
// took; the error is the last one.
func pageHas(t *testing.T, port int, path, want string) error {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		start := time.Now()
		body, err := httpGet(port, path)
		if err == nil && strings.Contains(body, want) {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("GET %s: 200 without %q: %.300s", path, want, body)
		}
		t.Logf("GET %s on port %d: %v (after %s)", path, port, err, time.Since(start).Round(time.Millisecond))
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Second)
	}
}

// httpGet asks the site for path, with the Host WordPress knows, following its redirects
// within the site (WordPress's canonical ones: /?p=ID to the post's permalink).
func httpGet(port int, path string) (string, error) {
	host := fmt.Sprintf("localhost:%d", port)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 5 {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		if err != nil {
			return "", err
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if next, ok := testutil.SameSiteRedirect(resp, host); ok {
			path = next
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return string(body), fmt.Errorf("GET %s: status %d (Location %q)", path, resp.StatusCode, resp.Header.Get("Location"))
		}
		return string(body), err
	}
	return "", fmt.Errorf("GET %s: more than 5 redirects", path)
}

// modeServed is the xdebug.mode PHP-FPM answers with through nginx, "" on error.
func modeServed(port int) string {
	body, err := httpGet(port, "/xdebug-mode.php")
	if err != nil {
		return ""
	}
	body, _, _ = strings.Cut(strings.TrimPrefix(body, "mode=["), "]")
	return body
}

// expectMode checks the mode served right after a switch; a request or two may still reach
// a worker of the previous generation while it finishes, hence the short bound.
func expectMode(t *testing.T, port int, mode string) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, "xdebug.mode "+mode+" served", func() bool { return modeServed(port) == mode })
}

// wpPHP runs PHP with WordPress loaded in the instance's PHP container, as www-data.
func wpPHP(t *testing.T, name, code string) string {
	t.Helper()
	return dockerOut(t, "exec", "-u", "www-data", name+"-php", "php", "-r", `require "/var/www/html/wp-load.php"; `+code)
}

// postTitleSQL reads a post's title with the database client in the database container.
func postTitleSQL(t *testing.T, name, id string) string {
	t.Helper()
	q := "SELECT post_title FROM wp_posts WHERE ID = " + id
	return dockerOut(t, "exec", name+"-db", "sh", "-c", `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -s wordpress -e "$1"`, "sh", q)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

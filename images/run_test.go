package images_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// envRunTest, set by make run-test, runs TestRunScript.
const envRunTest = "WPDIND_RUN_TEST"

// runTimeout is the test's WP_DIND_RUN_TIMEOUT: run.sh's own default, so that a run that
// would fail make run fails here.
const runTimeout = 600 * time.Second

// TestRunScript runs scripts/run.sh as make run does, but with its own container name,
// volume, conf/ (its own instances.toml and instances.ports), instances and shared-images
// folders and free host ports, so it runs beside a make run's container `wpinit`, which it
// never touches. The first run ends with the site table, and every URL it prints answers;
// a second run, with nothing changed, ends in seconds with the same table; a site that
// cannot converge ends a third run with its error and exit 1.
func TestRunScript(t *testing.T) {
	requireEnv(t, envRunTest, "run-test")
	before := otherWpinit(t)
	lo := freeRange(t, 10)
	mine := testutil.FreePorts(t, 3)
	sites := []site{
		{Name: "run-84", Title: "Run test on PHP 8.4", ID: 1, Port: lo + 1},
		{Name: "run-74", Title: "Run test on PHP 7.4", PHP: "7.4", DB: "10.5", WebVersion: "1.18", ID: 2, Port: lo + 2},
	}
	d := newDind(t, sites)
	setPorts(t, d.conf, fmt.Sprintf("%d-%d", lo, lo+9))
	r := &runScript{t: t, d: d, name: testutil.Name(t, "wpt-run"), pma: mine[0], mail: mine[1], dash: mine[2]}
	t.Cleanup(r.remove)

	out, took := r.run(0)
	t.Logf("first run.sh: %.1f s", took.Seconds())
	urls := r.checkTable(out, sites)
	for _, u := range urls {
		checkAnswers(t, u, sites)
	}

	again, took := r.run(0)
	t.Logf("second run.sh: %.1f s", took.Seconds())
	if took > 30*time.Second {
		t.Errorf("a second run.sh with nothing changed took %s, want seconds", took)
	}
	if again.stdout != out.stdout || !strings.Contains(again.stderr, r.name+" already runs") {
		t.Errorf("second run:\nstdout %s\nstderr %s", again.stdout, again.stderr)
	}

	r.addBrokenSite(append(sites, site{Name: "run-83", Title: "PHP 8.3 is not built", PHP: "8.3", ID: 3, Port: lo + 3}))
	failed, _ := r.run(1)
	if !strings.Contains(failed.stderr, "site run-83 failed: ") || strings.Contains(failed.stdout, "SITE ") {
		t.Errorf("a failing site: stdout %q, stderr:\n%s", failed.stdout, failed.stderr)
	}
	if after := otherWpinit(t); after != before {
		t.Errorf("the container wpinit changed: %q before, %q after", before, after)
	}
}

// runScript is one run.sh set-up: the test's container name and host ports.
type runScript struct {
	t         *testing.T
	d         *dind
	name      string
	pma, mail int
	dash      int // the dashboard
}

type output struct{ stdout, stderr string }

// run runs scripts/run.sh and fails the test unless it exits with code.
func (r *runScript) run(code int) (output, time.Duration) {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../scripts/run.sh")
	cmd.Env = append(os.Environ(),
		"WP_DIND_NAME="+r.name, "WP_DIND_IMAGE="+r.d.ref, "WP_DIND_VOLUME="+r.d.volume,
		"WP_DIND_LABEL="+labelValue(t), "WP_DIND_CONF_DIR="+r.d.conf, "WP_DIND_INSTANCES_DIR="+r.d.inst,
		"WP_DIND_SHARED_DIR="+r.d.shared, "WP_DIND_PROJECTS="+t.TempDir(), "WP_DIND_PMA_PORT="+strconv.Itoa(r.pma),
		"WP_DIND_MAIL_PORT="+strconv.Itoa(r.mail), "WP_DIND_DASHBOARD_PORT="+strconv.Itoa(r.dash), "WP_DIND_SITE_PORTS=", // from the conf's instances.ports
		fmt.Sprintf("WP_DIND_RUN_TIMEOUT=%d", int(runTimeout.Seconds())))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(&stderr, testWriter{t})
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if got := cmd.ProcessState.ExitCode(); got != code {
		t.Fatalf("run.sh exit %d (%v), want %d\nstdout:\n%s", got, err, code, stdout.String())
	}
	t.Logf("run.sh stdout:\n%s", stdout.String())
	return output{stdout.String(), stderr.String()}, took
}

// remove removes the test's container; newDind's cleanups remove the volume and folders.
func (r *runScript) remove() {
	if r.t.Failed() {
		logs, _ := docker("logs", "--tail", "40", r.name)
		r.t.Logf("%s output:\n%s", r.name, logs)
	}
	if _, err := docker("rm", "-f", "-v", r.name); err != nil && !strings.Contains(err.Error(), "No such container") {
		r.t.Logf("remove %s: %v", r.name, err)
	}
}

var urlRE = regexp.MustCompile(`http://[^\s]+`)

// checkTable: run.sh's stdout is the site table, then the lines for the password,
// phpMyAdmin, the mail UI, the status and the stop, naming the test's container and ports.
// It returns every URL printed.
func (r *runScript) checkTable(out output, sites []site) []string {
	t := r.t
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.stdout), "\n")
	want := len(sites) + 8 // header, sites, blank line, six lines
	if len(lines) != want || !strings.HasPrefix(lines[0], "SITE ") {
		t.Fatalf("stdout is not the site table (%d lines, want %d):\n%s", len(lines), want, out.stdout)
	}
	for _, s := range sites {
		url := fmt.Sprintf("http://localhost:%d/", s.Port)
		row := regexp.MustCompile(`(?m)^` + s.Name + `\s+` + url + `\s+php \S+\s+mariadb \S+\s+nginx \S+\s+` + url + `wp-admin/\s+admin$`)
		if !row.MatchString(out.stdout) {
			t.Errorf("no row for %s (%s) in the table:\n%s", s.Name, url, out.stdout)
		}
	}
	tail := fmt.Sprintf("dashboard   http://127.0.0.1:%[4]d/\npassword    docker exec %[1]s ctl status SITE --show-secrets\nphpMyAdmin  http://127.0.0.1:%[2]d/\n"+
		"mail        http://127.0.0.1:%[3]d/\nstatus      docker exec %[1]s ctl status\nstop        docker stop -t 100 %[1]s", r.name, r.pma, r.mail, r.dash)
	if !strings.HasSuffix(strings.TrimSpace(out.stdout), tail) {
		t.Errorf("the table does not end with\n%s", tail)
	}
	for _, p := range []string{"image wp-php.tar: loading ", "site run-74: running, healthy", "all 2 sites serve after"} {
		if !strings.Contains(out.stderr, p) {
			t.Errorf("run.sh's progress lacks %q", p)
		}
	}
	return urlRE.FindAllString(out.stdout, -1)
}

// checkAnswers: the URL answers 200, after the redirects it makes on loopback; a site's
// own page is its WordPress, with its title.
func checkAnswers(t *testing.T, u string, sites []site) {
	t.Helper()
	code, body := loopbackGet(t, u)
	if code != http.StatusOK {
		t.Errorf("%s answers %d", u, code)
		return
	}
	for _, s := range sites {
		if u == fmt.Sprintf("http://localhost:%d/", s.Port) && !strings.Contains(body, s.Title) {
			t.Errorf("%s: no %q in the page", u, s.Title)
		}
	}
	t.Logf("%s: 200", u)
}

// loopbackGet fetches u, following redirects, refusing any host but localhost and 127.0.0.1.
func loopbackGet(t *testing.T, u string) (int, string) {
	t.Helper()
	loopback := func(raw *url.URL) error {
		if h := raw.Hostname(); h != "localhost" && h != "127.0.0.1" {
			return fmt.Errorf("tests only talk to loopback, not %s", raw)
		}
		return nil
	}
	parsed, err := url.Parse(u)
	if err == nil {
		err = loopback(parsed)
	}
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 5 {
				return fmt.Errorf("%d redirects", len(via))
			}
			return loopback(req.URL)
		}}
	resp, err := client.Get(u)
	if err != nil {
		t.Errorf("get %s: %v", u, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(body)
}

// addBrokenSite declares sites, the last of which cannot converge (its image is not
// built), and waits until wpinit has read the file, so that run.sh sees the new site.
func (r *runScript) addBrokenSite(sites []site) {
	t := r.t
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.d.conf, "instances.toml"), []byte(tomlFor(sites)), 0o644); err != nil {
		t.Fatal(err)
	}
	name := sites[len(sites)-1].Name
	testutil.WaitFor(t, 2*time.Minute, "wpinit reads "+name, func() bool {
		out, err := docker("exec", r.name, "ctl", "status", "--json")
		return err == nil && strings.Contains(out, `"name": "`+name+`"`)
	})
}

// setPorts writes instances.ports into the test's wpinit.toml (written by newDind, which
// set image_prefix already). The reserved ports of conf/ (phpMyAdmin's 8080) lie in the
// default range, not in the test's: none is reserved there.
func setPorts(t *testing.T, conf, ports string) {
	t.Helper()
	path := filepath.Join(conf, "wpinit.toml")
	toml := regexp.MustCompile(`(?m)^reserved_ports\s*=.*$`).ReplaceAllString(readFile(t, path), "reserved_ports = []")
	toml = strings.Replace(toml, "\n[instances]\n", "\n[instances]\nports = \""+ports+"\"\n", 1)
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeRange returns the first of n consecutive host ports that nothing listens on, below
// the kernel's ephemeral range (where FreePorts draws from) and outside 8000-8099.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for lo := 20000 + int(time.Now().UnixNano()%100)*100; lo < 32000; lo += n {
		var held []net.Listener
		for p := lo; p < lo+n; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if len(held) == n {
			return lo
		}
	}
	t.Fatalf("no %d consecutive free ports in 20000-32000", n)
	return 0
}

// otherWpinit is the ID of a container named wpinit (make run's), or "" when none exists.
func otherWpinit(t *testing.T) string {
	t.Helper()
	id, err := docker("inspect", "-f", "{{.Id}}", "wpinit")
	if err != nil {
		return ""
	}
	return id
}

// testWriter logs each write of run.sh's stderr (its progress) as it comes.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

package images_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// code: the plugin is active (its activation hook ran), the theme is the site's, the mounted
// mu-plugin file runs, an edit of a plugin file shows in the next response with the PHP
// container untouched, and ctl status prints the IDE's path mappings.
func (dl *devLoop) code(t *testing.T) {
	s := dl.dev
	if code, body, err := dl.siteGet(s, "/?wpd-probe=1"); err != nil || code != 200 || strings.TrimSpace(body) != "probe v1 activated=yes" {
		t.Fatalf("plugin: %d %q %v", code, body, err)
	}
	resp, body, err := webDo(webClient(nil), http.MethodGet, dl.siteBase(s)+"/", siteHost(s), nil)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(body, "wpd-theme-index") {
		t.Fatalf("theme: %v %.300q", err, body)
	}
	if h := resp.Header.Get("X-WPD-Tools"); h != "mounted" {
		t.Errorf("the mounted mu-plugin file: X-WPD-Tools %q", h)
	}
	before := dl.innerInspect(t, s.Name+"-php")
	writeProject(t, filepath.Join(dl.projects, "wpd-probe/inc/marker.php"), "<?php return 'v2';\n")
	if code, body, err := dl.siteGet(s, "/?wpd-probe=1"); err != nil || code != 200 || strings.TrimSpace(body) != "probe v2 activated=yes" {
		t.Errorf("the next response after the edit: %d %q %v", code, body, err)
	}
	if after := dl.innerInspect(t, s.Name+"-php"); after != before {
		t.Errorf("the PHP container changed: %s -> %s", before, after)
	}
	out := mustDocker(t, "exec", dl.id, "ctl", "status", s.Name)
	for _, m := range []string{
		filepath.Join(dl.projects, "wpd-probe") + " => /var/www/html/wp-content/plugins/wpd-probe",
		filepath.Join(dl.inst, s.Name, "data/wordpress") + " => /var/www/html",
	} {
		if !strings.Contains(out, m) {
			t.Errorf("ctl status %s has no path mapping %q:\n%s", s.Name, m, out)
		}
	}
	t.Logf("plugin active and its edit served at once (PHP container %s unchanged); theme active; path mappings printed", before[:12])
}

// badPath: a plugin that does not exist, one leaving the folder by a link and one by "..":
// the file is refused, each with its line, and every container stays as it was.
func (dl *devLoop) badPath(t *testing.T) {
	ids := map[string]string{}
	for _, s := range append([]site{dl.dev}, dl.nets...) {
		for _, r := range []string{"db", "php", "web"} {
			ids[s.Name+"-"+r] = dl.innerInspect(t, s.Name+"-"+r)
		}
	}
	content := dl.writeInstances(`, "no-such-plugin", "../wpd-theme"`)
	lines := strings.Split(content, "\n")
	lineOf := func(s string) int {
		return slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, s) }) + 1
	}
	want := []string{
		fmt.Sprintf(":%d: instance[0].plugins[1]: no-such-plugin does not exist", lineOf("no-such-plugin")),
		fmt.Sprintf(":%d: instance[0].plugins[2]: escape leads to /etc, outside the projects folder", lineOf("no-such-plugin")),
		fmt.Sprintf(":%d: instance[0].plugins[2]: \"../wpd-theme\" leaves the projects folder", lineOf("no-such-plugin")),
	}
	mustDocker(t, "exec", dl.id, "ctl", "reload")
	st, _ := dl.waitStatus("the bad file refused", 2*time.Minute, func(st *ctl.Status) error {
		if st.Instances.FileError == "" {
			return errors.New("no file error yet")
		}
		return nil
	})
	var got []string
	for _, fe := range st.Instances.FileLines {
		got = append(got, fe.Message)
	}
	// The shape is checked first: the ".." refuses the file before the folder is looked at.
	if len(got) != 1 || !strings.Contains(got[0], want[2]) {
		t.Errorf("file errors %q, want %q", got, want[2])
	}
	dl.writeInstances(`, "no-such-plugin", "escape"`)
	mustDocker(t, "exec", dl.id, "ctl", "reload")
	st, _ = dl.waitStatus("the missing and escaping plugins refused", 2*time.Minute, func(st *ctl.Status) error {
		if n := len(st.Instances.FileLines); n != 2 {
			return fmt.Errorf("%d file errors: %s", n, st.Instances.FileError)
		}
		return nil
	})
	for i, fe := range st.Instances.FileLines {
		if !strings.Contains(fe.Message, want[i]) || fe.Line != lineOf("no-such-plugin") {
			t.Errorf("file error %d: %q (line %d), want %q", i, fe.Message, fe.Line, want[i])
		}
	}
	if code, body, _ := dl.siteGet(dl.dev, "/?wpd-probe=1"); code != 200 || !strings.Contains(body, "probe v2") {
		t.Errorf("dev after the bad file: %d %q", code, body)
	}
	for name, was := range ids {
		if now := dl.innerInspect(t, name); now != was {
			t.Errorf("%s changed under a bad file: %s -> %s", name, was, now)
		}
	}
	dl.writeInstances("")
	mustDocker(t, "exec", dl.id, "ctl", "reload")
	dl.waitStatus("the good file back", 2*time.Minute, func(st *ctl.Status) error {
		if st.Instances.FileError != "" {
			return errors.New(st.Instances.FileError)
		}
		return instancesUp(3)(st)
	})
	t.Logf("refused with their lines: %q; the 9 containers unchanged", st.Instances.FileError)
}

// networks: each subdirectory network serves its main site; its network admin, logged in
// as the site's administrator, makes a second site, which serves at /second/ with its own
// dashboard.
func (dl *devLoop) networks(t *testing.T) {
	for _, s := range dl.nets {
		t.Run(s.Web, func(t *testing.T) { dl.network(t, s) })
	}
}

var nonceRE = regexp.MustCompile(`name="_wpnonce_add-blog" value="([0-9a-f]+)"`)

func (dl *devLoop) network(t *testing.T, s site) {
	if err := dl.siteServes(s); err != nil {
		t.Fatalf("main site: %v", err)
	}
	d := dl.detail(t, s.Name, true)
	if d.Multisite != "subdirectory" {
		t.Errorf("status multisite = %q", d.Multisite)
	}
	jar, _ := cookiejar.New(nil)
	c := webClient(jar)
	base, host := dl.siteBase(s), siteHost(s)
	if _, _, err := webDo(c, http.MethodGet, base+"/wp-login.php", host, nil); err != nil {
		t.Fatal(err)
	}
	resp, page, err := webDo(c, http.MethodPost, base+"/wp-login.php", host, url.Values{
		"log": {d.AdminUser}, "pwd": {d.Secrets.AdminPassword}, "wp-submit": {"Log In"}, "testcookie": {"1"},
		"redirect_to": {"http://" + host + "/wp-admin/network/"},
	})
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("log in: %v %v %.300q", err, resp.StatusCode, page)
	}
	code, page, err := get(c, base+"/wp-admin/network/", host)
	if err != nil || code != 200 || !strings.Contains(page, "Network Admin") {
		t.Fatalf("network admin: %d %v %.300q", code, err, page)
	}
	code, page, err = get(c, base+"/wp-admin/network/site-new.php", host)
	m := nonceRE.FindStringSubmatch(page)
	if err != nil || code != 200 || m == nil {
		t.Fatalf("site-new.php: %d %v, nonce %v", code, err, m)
	}
	resp, page, err = webDo(c, http.MethodPost, base+"/wp-admin/network/site-new.php?action=add-site", host, url.Values{
		"_wpnonce_add-blog": {m[1]}, "_wp_http_referer": {"/wp-admin/network/site-new.php"},
		"blog[domain]": {"second"}, "blog[title]": {"Second site"}, "blog[email]": {d.AdminEmail},
	})
	if err != nil || resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "update=added") {
		t.Fatalf("add a site: %v %d %s %.300q", err, resp.StatusCode, resp.Header.Get("Location"), page)
	}
	code, page, err = get(webClient(nil), base+"/second/", host)
	if err != nil || code != 200 || !strings.Contains(page, `content="WordPress`) || !strings.Contains(page, "Second site") {
		t.Errorf("the second site: %d %v %.300q", code, err, page)
	}
	code, page, err = get(c, base+"/second/wp-admin/", host)
	if err != nil || code != 200 || !strings.Contains(page, "Second site") {
		t.Errorf("the second site's dashboard: %d %v %.300q", code, err, page)
	}
	t.Logf("%s (%s): main site 200, network admin 200, /second/ created there 200, its dashboard 200", s.Name, s.Web)
}

func get(c *http.Client, target, host string) (int, string, error) {
	resp, body, err := webDo(c, http.MethodGet, target, host, nil)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, body, nil
}

// xdebug: a request with XDEBUG_TRIGGER to dev (Xdebug on) opens a DBGp session at the IDE's
// listener, whose first packet is init; with Xdebug switched off, a request with the
// trigger answers and no session arrived.
func (dl *devLoop) xdebug(t *testing.T) {
	packets := make(chan string, 4)
	go acceptDBGp(dl.ide, packets)
	answered := make(chan error, 1)
	go func() {
		code, _, err := dl.siteGet(dl.dev, "/?XDEBUG_TRIGGER=1")
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		answered <- err
	}()
	select {
	case p := <-packets:
		// The session opens on the first file PHP runs: the image's auto_prepend_file
		// (urls.php, docs/images.md) before the site's index.php.
		if !strings.Contains(p, "<init ") || !strings.Contains(p, `fileuri="file:///usr/local/lib/wp-dind/urls.php"`) {
			t.Errorf("first packet: %.500q", p)
		}
		t.Logf("the IDE got the session's init: %.200s", p)
	case <-time.After(60 * time.Second):
		t.Fatal("no DBGp session reached the IDE's listener within 60 s")
	}
	if err := <-answered; err != nil {
		t.Errorf("the request with the trigger: %v", err)
	}
	mustDocker(t, "exec", dl.id, "ctl", "xdebug", dl.dev.Name, "off")
	if code, _, err := dl.siteGet(dl.dev, "/?XDEBUG_TRIGGER=1"); err != nil || code != 200 {
		t.Fatalf("with Xdebug off: %d %v", code, err)
	}
	// Xdebug connects before the script runs: once the answer is here, a session would be too.
	select {
	case p := <-packets:
		t.Errorf("a session arrived with Xdebug off: %.200q", p)
	case <-time.After(2 * time.Second):
	}
	mustDocker(t, "exec", dl.id, "ctl", "xdebug", dl.dev.Name, "on")
}

// acceptDBGp hands the first packet of each connection to packets (a DBGp packet is its
// length, NUL, the XML, NUL), then closes it: the script goes on undebugged. It ends with
// the listener.
func acceptDBGp(l net.Listener, packets chan<- string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			var buf []byte
			chunk := make([]byte, 4096)
			for bytes.Count(buf, []byte{0}) < 2 && len(buf) < 1<<16 {
				n, err := c.Read(chunk)
				buf = append(buf, chunk[:n]...)
				if err != nil {
					break
				}
			}
			packets <- string(buf)
		}()
	}
}

// shell: ctl shell runs what its standard input says in dev's PHP container, as www-data in
// the document root, and its exit code comes back; ctl shell dev db is the client, logged in.
func (dl *devLoop) shell(t *testing.T) {
	out, code := dockerExit(t, "echo shell-ok $(id -un) $(pwd) $(hostname); exit 7\n", "exec", "-i", dl.id, "ctl", "shell", dl.dev.Name)
	if code != 7 || !strings.Contains(out, "shell-ok www-data /var/www/html") {
		t.Errorf("ctl shell: exit %d, %q", code, out)
	}
	phpID := strings.Fields(dl.innerInspect(t, dl.dev.Name+"-php"))[0]
	if !strings.Contains(out, phpID[:12]) {
		t.Errorf("ctl shell ran elsewhere than %s-php (%s): %q", dl.dev.Name, phpID[:12], out)
	}
	out, code = dockerExit(t, "SELECT CONCAT('db-', DATABASE(), '-', CURRENT_USER());\n", "exec", "-i", dl.id, "ctl", "shell", dl.dev.Name, "db")
	if code != 0 || !strings.Contains(out, "db-wordpress-wordpress@") {
		t.Errorf("ctl shell db: exit %d, %q", code, out)
	}
	t.Logf("ctl shell: exit 7 came back from %s-php; the db client is logged in as %s", dl.dev.Name, lastField(out))
}

// dockerExit runs the docker CLI with stdin and returns its output and exit code.
func dockerExit(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("docker %v: %v", args, err)
	}
	return string(out), 0
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// logs: ctl logs dev -n 5 gives the last 5 lines of each container, as the inner docker logs
// --tail 5 has them, and lists the log files; -f follows a request's access-log line, from
// the web container's output and from access.log.
func (dl *devLoop) logs(t *testing.T) {
	name := dl.dev.Name
	var out string
	var byRole map[string][]string
	var problems []string
	// A line a container writes between the two reads makes them differ: read again then.
	for try := 0; try < 3; try++ {
		var code int
		out, code = dockerExit(t, "", "exec", dl.id, "ctl", "logs", name, "-n", "5")
		if code != 0 {
			t.Fatalf("ctl logs -n 5: exit %d %q", code, out)
		}
		byRole, problems = map[string][]string{}, nil
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if role, text, ok := strings.Cut(l, " | "); ok && slices.Contains(ctl.InstanceRoles, strings.TrimSpace(role)) {
				byRole[strings.TrimSpace(role)] = append(byRole[strings.TrimSpace(role)], text)
			}
		}
		for _, role := range ctl.InstanceRoles {
			want := strings.Split(strings.TrimRight(mustDockerCombined(t, "exec", dl.id, "docker", "logs", "--tail", "5", name+"-"+role), "\n"), "\n")
			got := slices.Clone(byRole[role])
			sort.Strings(want)
			sort.Strings(got)
			if len(got) == 0 || len(got) > 5 || !slices.Equal(got, want) {
				problems = append(problems, fmt.Sprintf("%s: ctl logs has %q, docker logs --tail 5 %q", role, got, want))
			}
		}
		if len(problems) == 0 {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("ctl logs %s -n 5:\n%s", name, out)
	if !strings.Contains(out, "log files of "+name) || !strings.Contains(out, "logs/nginx-1.26/access.log") {
		t.Errorf("no list of log files:\n%s", out)
	}
	dl.follow(t, []string{"ctl", "logs", name, "-f", "-n", "0"}, "web | ")
	dl.follow(t, []string{"ctl", "logs", name, "--file", "access.log", "-f", "-n", "0"}, "web | ")
	t.Logf("ctl logs -n 5: %d, %d and %d lines (db, php, web), as docker logs --tail 5; -f followed a request from the output and from access.log",
		len(byRole["db"]), len(byRole["php"]), len(byRole["web"]))
}

// follow runs a following ctl logs, makes a request with a mark, and waits for its line.
func (dl *devLoop) follow(t *testing.T, args []string, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"exec", dl.id, "timeout", "90"}, args...)...)
	var buf testutil.SyncBuffer
	cmd.Stdout = &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	mark := fmt.Sprintf("wpd-follow-%d", time.Now().UnixNano())
	testutil.WaitFor(t, 60*time.Second, "the followed line of "+strings.Join(args, " "), func() bool {
		_, _, _ = dl.siteGet(dl.dev, "/?"+mark)
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.HasPrefix(l, prefix) && strings.Contains(l, mark) {
				return true
			}
		}
		return false
	})
}

// mustDockerCombined runs the docker CLI and returns stdout and stderr together (docker logs
// writes a container's stderr on its own).
func mustDockerCombined(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v: %s", args, err, out)
	}
	return string(out)
}

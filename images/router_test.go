package images_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// The router's tests on the real product (make router-test, make bench-router): a wp-dind
// of their own running conf/'s wpinit.toml and conf/instances.toml (its two sites, on free
// ports), with the router's 80 and 443 published on free 127.0.0.1 ports, which
// WPINIT_ROUTER_HTTP_PORT and WPINIT_ROUTER_HTTPS_PORT name. Every *.localhost name is
// dialled on 127.0.0.1, as curl and browsers do.
const (
	envRouter      = "WPDIND_ROUTER"       // 1: run TestRouter (make router-test)
	envBenchRouter = "WPDIND_BENCH_ROUTER" // 1: run TestBenchRouter (make bench-router)
)

// routerDind is a wp-dind for the router's tests.
type routerDind struct {
	*dind
	lo          int // the sites' port range starts here
	http, https int // the router's ports on the host
	ca          []byte
	pool        *x509.CertPool
}

// defaultSites are conf/instances.toml's two sites, as the tests know them.
func defaultSites(lo int) []site {
	return []site{
		{Name: "site-84", Title: "PHP 8.4 on MariaDB 11.8", ID: 1, Port: lo + 1},
		{Name: "legacy-74", Title: "PHP 7.4 on MariaDB 10.5", ID: 2, Port: lo + 2, PHP: "7.4", DB: "10.5", WebVersion: "1.18"},
	}
}

// newRouterDind starts wp-dind with conf/instances.toml, its ports moved into a free range
// (published 1:1, so that the port URLs are what WordPress knows), and the router's ports.
func newRouterDind(t *testing.T) *routerDind {
	t.Helper()
	lo := freeRange(t, 10)
	d := newDind(t, defaultSites(lo))
	setPorts(t, d.conf, fmt.Sprintf("%d-%d", lo, lo+9))
	src := readFile(t, "../conf/instances.toml")
	for i, s := range d.sites {
		old := fmt.Sprintf("port = %d\n", 8001+i)
		if !strings.Contains(src, "name = \""+s.Name+"\"\nid = "+fmt.Sprint(s.ID)+"\n"+old) {
			t.Fatalf("conf/instances.toml no longer declares %s with id %d and %s", s.Name, s.ID, old)
		}
		src = strings.Replace(src, old, fmt.Sprintf("port = %d\n", s.Port), 1)
	}
	if err := os.WriteFile(filepath.Join(d.conf, "instances.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	free := testutil.FreePorts(t, 2)
	r := &routerDind{dind: d, lo: lo, http: free[0], https: free[1]}
	opts := []string{"-v", d.conf + ":/etc/wpinit:ro", "-v", d.inst + ":/wordpress-instances", "-v", d.shared + ":/shared-images:ro",
		"-p", fmt.Sprintf("127.0.0.1:%d:80", r.http), "-p", fmt.Sprintf("127.0.0.1:%d:443", r.https),
		"-e", fmt.Sprintf("WPINIT_ROUTER_HTTP_PORT=%d", r.http), "-e", fmt.Sprintf("WPINIT_ROUTER_HTTPS_PORT=%d", r.https)}
	for _, s := range d.sites {
		opts = append(opts, "-p", fmt.Sprintf("127.0.0.1:%d:%d", s.Port, s.Port))
	}
	d.id = startDind(t, d.ref, d.volume, opts...)
	return r
}

// up waits until every site runs and the router proxies each, then reads the CA.
func (r *routerDind) up(timeout time.Duration) {
	r.t.Helper()
	start := time.Now()
	r.waitStatus("sites up and routed", timeout, all(servicesReady, imagesDone, instancesUp(len(r.sites)), routed(r.sites...)))
	r.t.Logf("%d sites running and routed %.1f s after docker run", len(r.sites), time.Since(start).Seconds())
	r.ca = []byte(mustDocker(r.t, "exec", r.id, "ctl", "ca") + "\n")
	r.pool = x509.NewCertPool()
	if !r.pool.AppendCertsFromPEM(r.ca) {
		r.t.Fatalf("ctl ca printed no certificate:\n%s", r.ca)
	}
}

// routed: the router's live configuration proxies every one of sites.
func routed(sites ...site) func(*ctl.Status) error {
	return func(st *ctl.Status) error {
		if st.Router == nil {
			return errors.New("no router section in the status")
		}
		for _, s := range sites {
			if rs, ok := routerSite(st, s.Name); !ok || !rs.Serving {
				return fmt.Errorf("the router does not proxy %s yet (%+v)", s.Name, rs)
			}
		}
		return nil
	}
}

func routerSite(st *ctl.Status, name string) (ctl.RouterSiteStatus, bool) {
	if st.Router != nil {
		for _, s := range st.Router.Sites {
			if s.Name == name {
				return s, true
			}
		}
	}
	return ctl.RouterSiteStatus{}, false
}

// named is scheme://HOST:PORT of the router's listener for scheme on the host.
func (r *routerDind) named(scheme, host string) string {
	port := r.http
	if scheme == "https" {
		port = r.https
	}
	return fmt.Sprintf("%s://%s:%d", scheme, host, port)
}

// loopbackDial dials every localhost name on 127.0.0.1 (what curl and browsers do with
// *.localhost), and nothing else: tests only talk to loopback.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host != "127.0.0.1" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return nil, fmt.Errorf("tests only talk to loopback, not %s", addr)
	}
	return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
}

// client is an HTTP client of the router's names that trusts the wp-dind's CA only; it
// follows redirects (a wake's 307) when follow, and keeps cookies in jar when given.
func (r *routerDind) client(jar http.CookieJar, follow bool) *http.Client {
	c := &http.Client{Timeout: 60 * time.Second, Jar: jar, Transport: &http.Transport{
		DialContext: loopbackDial, TLSClientConfig: &tls.Config{RootCAs: r.pool}, MaxIdleConnsPerHost: 8,
	}}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		switch {
		case !follow:
			return http.ErrUseLastResponse
		case len(via) >= 10: // say who sent the redirects: the wake endpoint, or WordPress
			resp := req.Response
			return fmt.Errorf("stopped after %d redirects, the last a %d to %s (Server %q, X-Powered-By %q, Cache-Control %q)", len(via),
				resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Server"), resp.Header.Get("X-Powered-By"), resp.Header.Get("Cache-Control"))
		}
		return nil
	}
	return c
}

// fetch gets u with c and returns the answer with its body.
func fetch(c *http.Client, u string) (*http.Response, string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp, string(b), err
}

// wordpress: the answer is 200 with the WordPress page of s.
func wordpress(resp *http.Response, body string, s site) error {
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %d (%s)", resp.StatusCode, resp.Header.Get("Location"))
	case !strings.Contains(body, `content="WordPress`) || !strings.Contains(body, s.Title):
		return fmt.Errorf("200 but not %s's WordPress page: %.200q", s.Name, body)
	}
	return nil
}

// TestRouter: issue 12's "Done when" on the real product with the default instances.toml:
// every URL of a site serves (HTTPS with `ctl ca`, HTTP, the port URL), a login over HTTPS
// sets secure cookies and lands in wp-admin, Site Health's loopback test and WP-Cron's
// spawn work on the named URL, Chromium trusts the site with the CA and refuses it without,
// 1000 requests see no failure while a site is added and another removed, and an idle site
// sleeps and wakes within 5 s with its data.
func TestRouter(t *testing.T) {
	requireEnv(t, envRouter, "router-test")
	r := newRouterDind(t)
	r.up(10 * time.Minute)
	t.Run("every URL", r.everyURL)
	t.Run("login over HTTPS", r.login)
	t.Run("loopback requests", r.loopback)
	t.Run("browser", r.browser)
	t.Run("reloads under load", r.reloadsUnderLoad)
	t.Run("sleep", r.sleep)
}

// everyURL: curl --cacert <(ctl ca) answers 200 with the WordPress page on the HTTPS name;
// the HTTP name and the port URL serve too; each URL's redirects stay on it and its page
// links to itself only (no mixed content over HTTPS); wpinit's own pages have names.
func (r *routerDind) everyURL(t *testing.T) {
	s := r.sites[0]
	u := r.named("https", s.Name+".localhost") + "/"
	cmd := exec.Command("bash", "-c", `curl -sS --fail --cacert <(docker exec "$1" ctl ca) "$2"`, "curl", r.id, u)
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `content="WordPress`) || !strings.Contains(string(out), s.Title) {
		t.Fatalf("curl --cacert <(ctl ca) %s: %v\n%.300s", u, err, out)
	}
	t.Logf("curl --cacert <(ctl ca) %s: 200, %s's WordPress page", u, s.Name)
	c := r.client(nil, false)
	for _, base := range []string{u, r.named("http", s.Name+".localhost") + "/", fmt.Sprintf("http://localhost:%d/", s.Port)} {
		resp, body, err := fetch(c, base)
		if err == nil {
			err = wordpress(resp, body, s)
		}
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		own := strings.TrimSuffix(base, "/")
		other := regexp.MustCompile(`(?:href|src|action)=["'](https?://[^"'/]*)`).FindAllStringSubmatch(body, -1)
		for _, m := range other {
			if strings.Contains(m[1], "localhost") && m[1] != own {
				t.Errorf("%s links to %s: another URL of the site (mixed content over HTTPS)", base, m[1])
			}
		}
		resp, _, err = fetch(c, base+"wp-admin/")
		if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), own+"/wp-login.php") {
			t.Errorf("%swp-admin/: %v %v, want a redirect to %s/wp-login.php", base, err, resp.Header.Get("Location"), own)
		}
		t.Logf("%s: 200 WordPress, links and the wp-admin redirect stay on it", base)
	}
	for name, want := range map[string]string{"phpmyadmin": "pma_username", "mail": "MailDev", "wp-dind": "wp-dind"} {
		resp, body, err := fetch(c, r.named("https", name+".localhost")+"/")
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("https://%s.localhost: %v %v, no %q", name, err, resp, want)
		}
	}
	resp, body, err := fetch(c, r.named("http", "nobody.localhost")+"/")
	if err != nil || resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no site is called") {
		t.Errorf("an unknown name: %v %v %q", err, resp, body)
	}
}

// detail is `ctl status NAME --show-secrets`.
func (r *routerDind) detail(t *testing.T, name string) ctl.InstanceDetail {
	t.Helper()
	var d ctl.InstanceDetail
	if err := json.Unmarshal([]byte(mustDocker(t, "exec", r.id, "ctl", "status", name, "--show-secrets", "--json")), &d); err != nil || d.Secrets == nil {
		t.Fatalf("ctl status %s --show-secrets: %v", name, err)
	}
	return d
}

// adminPassword reads a site's admin password from ctl status.
func (r *routerDind) adminPassword(t *testing.T, name string) string {
	t.Helper()
	return r.detail(t, name).Secrets.AdminPassword
}

// containerIP is the address of the site's container of role on its network.
func (r *routerDind) containerIP(t *testing.T, name, role string) string {
	t.Helper()
	for _, c := range r.detail(t, name).Containers {
		if c.Role == role {
			return c.IP
		}
	}
	t.Fatalf("%s has no %s container", name, role)
	return ""
}

// loginHTTPS logs in to wp-admin over the site's HTTPS name and returns the client with its
// cookies and the login's answer.
func (r *routerDind) loginHTTPS(t *testing.T, s site) (*http.Client, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := r.client(jar, false)
	base := r.named("https", s.Name+".localhost")
	if _, _, err := fetch(c, base+"/wp-login.php"); err != nil { // its test cookie
		t.Fatal(err)
	}
	form := url.Values{"log": {"admin"}, "pwd": {r.adminPassword(t, s.Name)}, "wp-submit": {"Log In"},
		"redirect_to": {base + "/wp-admin/"}, "testcookie": {"1"}}
	resp, err := c.PostForm(base+"/wp-login.php", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp
}

// login: the login answers a redirect to wp-admin on the same name, every cookie it sets
// is Secure, and wp-admin's dashboard opens with them.
func (r *routerDind) login(t *testing.T) {
	s := r.sites[0]
	c, resp := r.loginHTTPS(t, s)
	base := r.named("https", s.Name+".localhost")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != base+"/wp-admin/" {
		t.Fatalf("login: %d to %q, want 302 to %s/wp-admin/", resp.StatusCode, resp.Header.Get("Location"), base)
	}
	auth := 0
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure", ck.Name)
		}
		if strings.HasPrefix(ck.Name, "wordpress_sec_") || strings.HasPrefix(ck.Name, "wordpress_logged_in_") {
			auth++
		}
	}
	if auth < 2 {
		t.Errorf("the login set %d auth cookies: %v", auth, resp.Cookies())
	}
	page, body, err := fetch(c, base+"/wp-admin/")
	if err != nil || page.StatusCode != http.StatusOK || !strings.Contains(body, `id="wpadminbar"`) || !strings.Contains(body, "<title>Dashboard") {
		t.Fatalf("wp-admin after the login: %v %v %.300q", err, page, body)
	}
	t.Logf("login over %s: %d Secure cookies, wp-admin's dashboard opens", base, len(resp.Cookies()))
}

// loopback: Site Health's loopback test passes when run on the HTTPS name, and a due
// WP-Cron event runs from a page load on it; both requests reach the site's own web server
// from its PHP container.
func (r *routerDind) loopback(t *testing.T) {
	s := r.sites[0]
	c, _ := r.loginHTTPS(t, s)
	base := r.named("https", s.Name+".localhost")
	_, nonce, err := fetch(c, base+"/wp-admin/admin-ajax.php?action=rest-nonce")
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{10}$`).MatchString(nonce) {
		t.Fatalf("REST nonce: %v %q", err, nonce)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/wp-json/wp-site-health/v1/tests/loopback-requests", nil)
	req.Header.Set("X-WP-Nonce", nonce)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Status, Label string }
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || res.Status != "good" {
		t.Fatalf("Site Health's loopback test: %v %q: %q", err, res.Status, res.Label)
	}
	t.Logf("Site Health on %s: %s", base, res.Label)
	if _, err := r.php(s, `wp_schedule_single_event(time() - 60, "wp_dind_router_test"); echo "ok";`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fetch(c, base+"/"); err != nil { // a page load spawns WP-Cron for the due event
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, "the due WP-Cron event run from the page load", func() bool {
		out, err := r.php(s, `echo wp_next_scheduled("wp_dind_router_test") ? "due" : "ran";`)
		return err == nil && out == "ran"
	})
	log := readFile(t, filepath.Join(r.inst, s.Name, "logs", "nginx-1.26", "access.log"))
	php := regexp.QuoteMeta(r.containerIP(t, s.Name, "php"))
	for _, want := range []string{`"POST /wp-cron.php HTTP`, `"POST /wp-cron.php?doing_wp_cron=`} {
		if !regexp.MustCompile(`(?m)^` + php + ` .*` + regexp.QuoteMeta(want) + `.*WordPress/[0-9.]+; ` + regexp.QuoteMeta(base)).MatchString(log) {
			t.Errorf("no %s from the PHP container for %s in the web server's access log", want, base)
		}
	}
}

// browser: Chromium with the CA in a fresh NSS database loads the HTTPS name; with a fresh
// database without it, it shows the certificate error (scripts/router-test/router.mjs).
func (r *routerDind) browser(t *testing.T) {
	needTools(t, "node", "chromium", "certutil")
	s := r.sites[0]
	trust, empty := nssHome(t, r.ca), nssHome(t, nil)
	artifacts, _ := filepath.Abs("../bin/artifacts")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "../scripts/router-test/router.mjs")
	cmd.Env = append(os.Environ(), "URL="+r.named("https", s.Name+".localhost")+"/", "TITLE="+s.Title,
		"HOME_TRUST="+trust, "HOME_EMPTY="+empty, "ARTIFACTS="+artifacts, "PLAYWRIGHT_DIR="+playwrightDir())
	out, err := cmd.CombinedOutput()
	t.Logf("router.mjs (screenshots router-ca-trusted.png, router-ca-untrusted.png in %s):\n%s", artifacts, out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
}

// nssHome is a fresh HOME whose NSS database (~/.pki/nssdb, where Chromium on Linux reads
// the CAs it trusts) holds ca, or nothing when ca is nil (Debian's certutil).
func nssHome(t *testing.T, ca []byte) string {
	t.Helper()
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	run("-N", "-d", "sql:"+db, "--empty-password")
	if ca != nil {
		file := filepath.Join(home, "wp-dind-ca.crt")
		if err := os.WriteFile(file, ca, 0o644); err != nil {
			t.Fatal(err)
		}
		run("-A", "-d", "sql:"+db, "-n", "wp-dind local CA", "-t", "C,,", "-i", file)
	}
	return home
}

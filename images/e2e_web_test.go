package images_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// webClient asks 127.0.0.1 only, follows no redirect (a redirect is an answer the tests
// check) and keeps cookies when given a jar.
func webClient(jar http.CookieJar) *http.Client {
	return &http.Client{
		Timeout: 20 * time.Second, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// webDo sends one request to a 127.0.0.1 URL, as host when given (a site's Host), with form
// as a POST body when given.
func webDo(c *http.Client, method, target, host string, form url.Values) (*http.Response, string, error) {
	if !strings.HasPrefix(target, "http://127.0.0.1:") {
		return nil, "", fmt.Errorf("tests only talk to 127.0.0.1, not %s", target)
	}
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return nil, "", err
	}
	if host != "" {
		req.Host = host
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp, b.String(), err
}

// siteBase is the 127.0.0.1 address the container publishes s's port on (it changes with
// each start of the container).
func (d *dind) siteBase(s site) string {
	d.t.Helper()
	return d.url(strconv.Itoa(s.Port))
}

// siteHost is the Host WordPress knows itself by: its site URL is http://localhost:PORT
// (the reconciler probes the same way, docs/instances.md).
func siteHost(s site) string { return "localhost:" + strconv.Itoa(s.Port) }

// siteGet asks s for path and returns the status and the page.
func (d *dind) siteGet(s site, path string) (int, string, error) {
	resp, body, err := webDo(webClient(nil), http.MethodGet, d.siteBase(s)+path, siteHost(s), nil)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, body, nil
}

// siteServes: s answers 200 with its WordPress front page (its title in it).
func (d *dind) siteServes(s site) error {
	code, body, err := d.siteGet(s, "/")
	switch {
	case err != nil:
		return err
	case code != http.StatusOK:
		return fmt.Errorf("%s: GET / answered %d", s.Name, code)
	case !strings.Contains(body, `content="WordPress`) || !strings.Contains(body, s.Title):
		return fmt.Errorf("%s: GET / is not the WordPress site %q: %.200q", s.Name, s.Title, body)
	}
	return nil
}

// waitSites polls until every site serves, and returns how long that took.
func (d *dind) waitSites(sites []site, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	pending := append([]site(nil), sites...)
	var last error
	err := testutil.PollEvery(timeout, pollDocker, func() bool {
		var left []site
		for _, s := range pending {
			if err := d.siteServes(s); err != nil {
				last = err
				left = append(left, s)
			}
		}
		pending = left
		return len(pending) == 0
	})
	if err != nil {
		return 0, fmt.Errorf("%d of %d sites not serving after %s: %w", len(pending), len(sites), timeout, last)
	}
	return time.Since(start), nil
}

// php runs PHP code inside s's PHP container (through the inner engine) as www-data, in
// the document root, after WordPress is loaded.
func (d *dind) php(s site, code string) (string, error) {
	out, err := execIn(d.id, "", "docker", "exec", "-u", "www-data", s.Name+"-php", "php", "-r",
		`require "wp-load.php"; `+code)
	return strings.TrimSpace(out), err
}

// newPost publishes a post titled title (letters, digits and spaces) and returns its id.
func (d *dind) newPost(s site, title string) (int, error) {
	out, err := d.php(s, fmt.Sprintf(`$id = wp_insert_post(["post_title" => '%s', "post_content" => 'e2e',
		"post_status" => "publish"], true); if (is_wp_error($id)) { fwrite(STDERR, $id->get_error_message()); exit(1); } echo $id;`, title))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out)
}

// deletePost deletes the post for good (no trash).
func (d *dind) deletePost(s site, id int) error {
	out, err := d.php(s, fmt.Sprintf(`echo wp_delete_post(%d, true) ? "deleted" : "not deleted";`, id))
	if err == nil && out != "deleted" {
		err = fmt.Errorf("delete post %d of %s: %s", id, s.Name, out)
	}
	return err
}

// postShown: GET /?p=ID answers 200 with the post's title, at once or after WordPress's
// canonical redirect to the post's permalink on the same site.
func (d *dind) postShown(s site, id int, title string) (bool, error) {
	path := "/?p=" + strconv.Itoa(id)
	resp, body, err := webDo(webClient(nil), http.MethodGet, d.siteBase(s)+path, siteHost(s), nil)
	if err == nil {
		if next, ok := testutil.SameSiteRedirect(resp, siteHost(s)); ok {
			resp, body, err = webDo(webClient(nil), http.MethodGet, d.siteBase(s)+next, siteHost(s), nil)
		}
	}
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	switch {
	case err != nil:
		return false, err
	case code == http.StatusOK && strings.Contains(body, title):
		return true, nil
	case code == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("%s: GET /?p=%d answered %d", s.Name, id, code)
}

var (
	pmaToken   = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)
	pmaSession = regexp.MustCompile(`name="set_session" value="([0-9a-f]+)"`)
	pmaServer  = regexp.MustCompile(`<option\s+value="(\d+)"\s*>([^<]+)</option>`)
)

// pmaLogin logs into phpMyAdmin's server called server (an instance's name in the server
// choice) with user and password, as a browser does: the login page for its token and
// session cookie, the POST of the form, then the databases page. It returns the page.
func (d *dind) pmaLogin(server, user, password string) (string, error) {
	base := d.url("8080")
	jar, _ := cookiejar.New(nil)
	c := webClient(jar)
	_, page, err := webDo(c, http.MethodGet, base+"/", "", nil)
	if err != nil {
		return "", err
	}
	token, session := pmaToken.FindStringSubmatch(page), pmaSession.FindStringSubmatch(page)
	if token == nil || session == nil {
		return "", fmt.Errorf("no token or session in the login page: %.300q", page)
	}
	slot := ""
	for _, m := range pmaServer.FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(m[2]) == server {
			slot = m[1]
		}
	}
	if slot == "" {
		return "", fmt.Errorf("no server %q in the login page's server choice", server)
	}
	form := url.Values{"route": {"/"}, "token": {token[1]}, "set_session": {session[1]},
		"pma_username": {user}, "pma_password": {password}, "server": {slot}}
	resp, page, err := webDo(c, http.MethodPost, base+"/index.php?route=/", "", form)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("login answered %d, not a redirect: %s", resp.StatusCode, pmaError(page))
	}
	resp, page, err = webDo(c, http.MethodGet, base+"/index.php?route=/server/databases&server="+slot, "", nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="login_form"`) {
		return "", fmt.Errorf("databases page: %d, %s", resp.StatusCode, pmaError(page))
	}
	return page, nil
}

var pmaErrorText = regexp.MustCompile(`(?s)class="alert alert-danger"[^>]*>(.*?)</div>`)

// pmaError is the error phpMyAdmin shows on its login page, for the test's message.
func pmaError(page string) string {
	if m := pmaErrorText.FindStringSubmatch(page); m != nil {
		return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " ")), " ")
	}
	return "back on the login page"
}

// lostPassword fills WordPress's lost-password form for the admin: WordPress then mails a
// reset link (wp_mail, PHP's mail(), msmtp, MailDev) and redirects to checkemail=confirm.
func (d *dind) lostPassword(s site) error {
	form := url.Values{"user_login": {"admin"}, "redirect_to": {""}, "wp-submit": {"Get New Password"}}
	resp, page, err := webDo(webClient(nil), http.MethodPost, d.siteBase(s)+"/wp-login.php?action=lostpassword", siteHost(s), form)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "checkemail=confirm") {
		msg := page
		if i := strings.Index(page, `id="login_error"`); i >= 0 {
			msg = page[i:min(len(page), i+300)]
		}
		return fmt.Errorf("%s: lost password answered %d %q: %.300q", s.Name, resp.StatusCode, resp.Header.Get("Location"), msg)
	}
	return nil
}

// mail is a message in MailDev's API.
type mail struct {
	Subject string `json:"subject"`
	To      []struct {
		Address string `json:"address"`
	} `json:"to"`
	From []struct {
		Address string `json:"address"`
	} `json:"from"`
}

// waitMail polls MailDev's API (GET /email on its published port) for a mail whose subject
// holds subject.
func (d *dind) waitMail(subject string, timeout time.Duration) (mail, error) {
	base := d.url("1080")
	var found mail
	var last error
	err := testutil.PollEvery(timeout, pollDocker, func() bool {
		resp, body, err := webDo(webClient(nil), http.MethodGet, base+"/email", "", nil)
		switch {
		case err != nil:
			last = err
			return false
		case resp.StatusCode != http.StatusOK:
			last = fmt.Errorf("MailDev answered %d", resp.StatusCode)
			return false
		}
		var mails []mail
		if last = json.Unmarshal([]byte(body), &mails); last != nil {
			return false
		}
		for _, m := range mails {
			if strings.Contains(m.Subject, subject) {
				found = m
				return true
			}
		}
		last = fmt.Errorf("%d mails, none about %q", len(mails), subject)
		return false
	})
	if err != nil {
		if last == nil {
			last = errors.New("MailDev does not answer")
		}
		return mail{}, fmt.Errorf("no mail %q after %s: %w", subject, timeout, last)
	}
	return found, nil
}

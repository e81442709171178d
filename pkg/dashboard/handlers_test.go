package dashboard

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, s *fixtureServer, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	if req.Host == "example.com" { // httptest's default: the dashboard answers local names only
		req.Host = "localhost:8500"
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func postReq(path, body string, headers map[string]string) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Host = "127.0.0.1:8500"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// TestActionGuards: every action needs the token and the same origin; a page under another
// host name (DNS rebinding) gets nothing, not even the page.
func TestActionGuards(t *testing.T) {
	s := newFixtureServer()
	good := map[string]string{TokenHeader: s.Token(), "Origin": "http://127.0.0.1:8500", "Sec-Fetch-Site": "same-origin"}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range good {
			h[a] = b
		}
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    int
		says    string
	}{
		{"no token", with(TokenHeader, ""), 403, "missing or wrong CSRF token"},
		{"wrong token", with(TokenHeader, "00"+s.Token()[2:]), 403, "missing or wrong CSRF token"},
		{"cross origin", with("Origin", "http://evil.example"), 403, "cross-origin"},
		{"other port", with("Origin", "http://127.0.0.1:9999"), 403, "cross-origin"},
		{"cross site", with("Sec-Fetch-Site", "cross-site"), 403, "cross-site"},
		{"no origin headers, token", map[string]string{TokenHeader: s.Token()}, 200, "backup"},
		{"same origin with token", good, 200, "backup"},
	} {
		rec := do(t, s, postReq("/api/instances/blog/backup", "", tt.headers))
		if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.says) {
			t.Errorf("%s: %d %q, want %d with %q", tt.name, rec.Code, rec.Body, tt.want, tt.says)
		}
	}
	if got := s.inst.calls; len(got) != 2 {
		t.Errorf("backups run: %q, want the two allowed", got)
	}
	for _, host := range []string{"evil.example", "evil.example:8500", "wp-dind.localhost.evil.example"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		if rec := do(t, s, req); rec.Code != 403 || strings.Contains(rec.Body.String(), s.Token()) {
			t.Errorf("GET / as %s: %d", host, rec.Code)
		}
	}
	for _, host := range []string{"localhost:8500", "wp-dind.localhost", "127.0.0.1:8500", "[::1]:8500"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		if rec := do(t, s, req); rec.Code != 200 {
			t.Errorf("GET / as %s: %d", host, rec.Code)
		}
	}
}

// TestActions: each action reaches the instance API; secrets come only as a POST's answer.
func TestActions(t *testing.T) {
	s := newFixtureServer()
	h := map[string]string{TokenHeader: s.Token()}
	for _, tt := range []struct {
		path, body string
		want       int
		says       string
	}{
		{"/api/instances/blog/xdebug", "on=1", 200, "xdebug.mode = debug"},
		{"/api/instances/blog/xdebug", "on=maybe", 404, "on=1 or on=0"},
		{"/api/instances/blog/restart", "", 200, "restarted"},
		{"/api/instances/blog/backup", "", 200, "blog-x.tar.gz (2.0 KiB)"},
		{"/api/instances/blog/secrets", "", 200, `"admin_password":"pw-blog-s3cret"`},
		{"/api/instances/nope/secrets", "", 404, "error"},
		{"/api/instances/blog/explode", "", 404, "unknown action"},
	} {
		rec := do(t, s, postReq(tt.path, tt.body, h))
		if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.says) {
			t.Errorf("POST %s %s: %d %s, want %d with %q", tt.path, tt.body, rec.Code, rec.Body, tt.want, tt.says)
		}
	}
	if got := strings.Join(s.inst.calls, ","); got != "xdebug blog on,restart blog,backup blog" {
		t.Errorf("calls %q", got)
	}
	if rec := do(t, s, httptest.NewRequest("GET", "/api/instances/blog/secrets", nil)); rec.Code == 200 {
		t.Errorf("GET secrets answered %d", rec.Code)
	}
}

// TestPage: the page carries the token and every section, and no secret.
func TestPage(t *testing.T) {
	s := newFixtureServer()
	rec := do(t, s, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `content="`+s.Token()+`"`) {
		t.Fatalf("%d %.300s", rec.Code, body)
	}
	for _, id := range sectionNames {
		if !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("no section %s", id)
		}
	}
	if strings.Contains(body, "s3cret") || strings.Contains(body, "<script>alert") {
		t.Error("the page holds a secret or unescaped text")
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, asset := range []string{"/static/app.js", "/static/style.css"} {
		if rec := do(t, s, httptest.NewRequest("GET", asset, nil)); rec.Code != 200 || rec.Body.Len() < 500 {
			t.Errorf("%s: %d, %d bytes", asset, rec.Code, rec.Body.Len())
		}
	}
}

// sse reads events from an open stream.
type sse struct{ sc *bufio.Scanner }

func (s sse) next(t *testing.T, name string) string {
	t.Helper()
	event := ""
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == name:
			return strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatalf("stream ended before a %s event: %v", name, s.sc.Err())
	return ""
}

func openSSE(t *testing.T, srv *httptest.Server, path string) sse {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	return sse{sc}
}

// TestEvents: a page gets every section first, then only those that changed: one more
// restart of nginx is a new services section.
func TestEvents(t *testing.T) {
	s := newFixtureServer()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ev := openSSE(t, srv, "/events")
	var first map[string]string
	if err := json.Unmarshal([]byte(ev.next(t, "sections")), &first); err != nil || len(first) != len(sectionNames) {
		t.Fatalf("first event: %d sections, %v", len(first), err)
	}
	s.mu.Lock()
	st := *s.status
	st.Services = append(st.Services[:1:1], st.Services[1])
	st.Services[1].Restarts = 2
	s.status = &st
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var next map[string]string
		if err := json.Unmarshal([]byte(ev.next(t, "sections")), &next); err != nil {
			t.Fatal(err)
		}
		if html, ok := next["services"]; ok {
			if len(next) != 1 || !strings.Contains(html, `<td class="num restarts">2</td>`) {
				t.Fatalf("update: %d sections, services %q", len(next), html)
			}
			return
		}
	}
	t.Fatal("no services update")
}

// TestLogs: a service's lines and a container's, the latter found by instance and role.
func TestLogs(t *testing.T) {
	s := newFixtureServer()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ev := openSSE(t, srv, "/logs?service=nginx")
	if a, b := ev.next(t, "line"), ev.next(t, "line"); !strings.Contains(a, "nginx started") || !strings.Contains(b, `"stream":"stderr"`) {
		t.Errorf("service lines %s %s", a, b)
	}
	ev = openSSE(t, srv, "/logs?"+url.Values{"instance": {"blog"}, "role": {"php"}}.Encode())
	if l := ev.next(t, "line"); !strings.Contains(l, "from blog-php-id") {
		t.Errorf("container line %s", l)
	}
	resp, err := srv.Client().Get(srv.URL + "/logs?instance=blog&role=cache")
	if err != nil || resp.StatusCode != 404 {
		t.Errorf("an unknown role: %v %v", resp.StatusCode, err)
	}
}

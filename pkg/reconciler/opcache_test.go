package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCGIBody(t *testing.T) {
	for _, c := range []struct {
		name, resp, body string
		status           int
		err              string
	}{
		{name: "plain", resp: "Content-type: text/plain\r\n\r\nhello\n", body: "hello\n", status: 200},
		{name: "status header", resp: "Status: 503 Service Unavailable\r\nContent-type: text/plain\r\n\r\nno\n", body: "no\n", status: 503},
		{name: "status any case, bare newlines", resp: "status: 405\nX-Powered-By: PHP/8.4\n\nGET or POST\n", body: "GET or POST\n", status: 405},
		{name: "body with a blank line", resp: "A: b\r\n\r\none\r\n\r\ntwo", body: "one\r\n\r\ntwo", status: 200},
		{name: "no end of headers", resp: "Content-type: text/plain\r\n", err: "no end of headers"},
		{name: "bad status", resp: "Status: abc\r\n\r\n", err: `status "abc"`},
		{name: "status out of range", resp: "Status: 999 Odd\r\n\r\n", err: `status "999 Odd"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, status, err := cgiBody(c.resp)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || body != c.body || status != c.status {
				t.Fatalf("got %q %d %v, want %q %d", body, status, err, c.body, c.status)
			}
		})
	}
}

func TestCoreScript(t *testing.T) {
	for p, want := range map[string]bool{
		"/var/www/html/wp-includes/load.php":                              true,
		"/var/www/html/wp-includes/blocks/index.php":                      true,
		"/var/www/html/wp-admin/includes/file.php":                        true,
		"/var/www/html/wp-config.php":                                     false, // rewritten by wp-dind-personalize
		"/var/www/html/index.php":                                         false,
		"/var/www/html/wp-content/themes/x/functions.php":                 false,
		"/var/www/html/wp-includes/../wp-config.php":                      false,
		"/var/www/html/wp-includes//load.php":                             false,
		"/var/www/html/wp-includes/load.inc":                              false,
		"wp-includes/load.php":                                            false,
		"/etc/passwd":                                                     false,
		"/var/www/html/wp-includesX/load.php":                             false,
		"/var/www/html/wp-includes/a\nb.php":                              false,
		"/var/www/html/wp-includes/a\x7fb.php":                            false,
		"/var/www/html/wp-includes/" + strings.Repeat("a", 4096) + ".php": false,
	} {
		if got := coreScript(p); got != want {
			t.Errorf("coreScript(%.80q) = %v, want %v", p, got, want)
		}
	}
}

func TestParseOpcacheList(t *testing.T) {
	many := "wp-dind-opcache list\n"
	for i := range maxOpcacheScripts + 1 {
		many += fmt.Sprintf("/var/www/html/wp-includes/f%d.php\n", i)
	}
	for _, c := range []struct {
		name, body string
		status     int
		want       []string
		err        string
	}{
		{name: "list", status: 200, body: "wp-dind-opcache list\n/var/www/html/wp-includes/a.php\n/var/www/html/wp-admin/b.php\n",
			want: []string{"/var/www/html/wp-includes/a.php", "/var/www/html/wp-admin/b.php"}},
		{name: "empty list", status: 200, body: "wp-dind-opcache list\n"},
		{name: "an old image's 404", status: 404, body: "File not found.\n", err: "status 404"},
		{name: "another page", status: 200, body: "<html>hello</html>", err: `"<html>hello</html>"`},
		{name: "a path that is not core", status: 200, body: "wp-dind-opcache list\n/var/www/html/wp-includes/a.php\n/etc/shadow.php\n", err: `"/etc/shadow.php" is not a core script`},
		{name: "too many", status: 200, body: many, err: fmt.Sprintf("more than %d", maxOpcacheScripts)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseOpcacheList(c.body, c.status)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("got %q %v, want %q", got, err, c.want)
			}
		})
	}
}

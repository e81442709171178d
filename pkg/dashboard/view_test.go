package dashboard

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

var update = flag.Bool("update", false, "rewrite testdata/sections.golden.html")

// TestSectionsGolden: the fixture's sections, rendered, are the golden file (go test
// -update rewrites it: look at the diff).
func TestSectionsGolden(t *testing.T) {
	s := newFixtureServer()
	v, err := s.snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sections, err := renderSections(v)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, name := range sectionNames {
		b.WriteString("<!-- " + name + " -->\n" + sections[name] + "\n")
	}
	const golden = "testdata/sections.golden.html"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("sections differ from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
}

// TestSectionsShow: what Done-when asks the page to show is in its sections.
func TestSectionsShow(t *testing.T) {
	s := newFixtureServer()
	v, _ := s.snapshot(t.Context())
	sections, _ := renderSections(v)
	for section, wants := range map[string][]string{
		"services":  {`data-service="nginx"`, `<td class="num restarts">1</td>`, "signal 9 (SIGKILL)", `datetime="2026-12-01T09:00:00Z"`},
		"images":    {"wp-php.tar", `value="25"`, "unexpected EOF", "1 failed"},
		"problems":  {"line 7", `unknown version &#34;9.9&#34;`},
		"instances": {`href="http://localhost:8001/"`, `href="http://localhost:8001/wp-admin/"`, `href="http://localhost:8080/index.php?server=blog"`, `href="http://localhost:1080/"`, "blog-20261201-080000.tar.gz", "1.2%", "96 MiB", "120 MiB", "probe 42 ms", "&lt;script&gt;"},
		"summary":   {"wpinit 1.2.3", "2 sites", "1 backup, 3.0 MiB"},
	} {
		for _, w := range wants {
			if !strings.Contains(sections[section], w) {
				t.Errorf("%s: no %q", section, w)
			}
		}
	}
}

func TestLinks(t *testing.T) {
	l := Links{PhpMyAdmin: "http://localhost:8080", Mail: "http://localhost:1080/"}
	got := l.For(ctl.InstanceStatus{Name: "a b", URL: "http://localhost:8005/"})
	want := InstanceLinks{Site: "http://localhost:8005/", Admin: "http://localhost:8005/wp-admin/",
		PhpMyAdmin: "http://localhost:8080/index.php?server=a+b", Mail: "http://localhost:1080/"}
	if got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
}

// TestNamedLinks: with the router, a site is linked at its first name on the router's
// public HTTPS port; a site without names keeps its port URL.
func TestNamedLinks(t *testing.T) {
	rs := &ctl.RouterStatus{HTTP: ":80", HTTPS: ":443", PublicHTTPPort: 8880, PublicHTTPSPort: 8443}
	l := Links{PhpMyAdmin: rs.URL("phpmyadmin.localhost"), Mail: rs.URL("mail.localhost"), Named: rs.URL}
	got := l.For(ctl.InstanceStatus{Name: "site-84", URL: "http://localhost:8001", Names: []string{"site-84.localhost", "blog.test"}})
	want := InstanceLinks{Site: "https://site-84.localhost:8443/", Admin: "https://site-84.localhost:8443/wp-admin/",
		PhpMyAdmin: "https://phpmyadmin.localhost:8443/index.php?server=site-84", Mail: "https://mail.localhost:8443/"}
	if got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
	if got := l.For(ctl.InstanceStatus{Name: "old", URL: "http://localhost:8002"}); got.Site != "http://localhost:8002/" {
		t.Errorf("no names: site link %s", got.Site)
	}
	if got := (&ctl.RouterStatus{HTTPS: ":443", PublicHTTPSPort: 443}).URL("a.localhost"); got != "https://a.localhost/" {
		t.Errorf("default port: %s", got)
	}
}

func TestBytesText(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 96 << 20: "96 MiB", 3 << 30: "3.0 GiB", 1536: "1.5 KiB"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", n, got, want)
		}
	}
}

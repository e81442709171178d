package router

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func certs(names ...string) map[string]Cert {
	m := map[string]Cert{}
	for _, n := range append(names, servicesLeaf, defaultLeaf) {
		m[n] = Cert{CertFile: "/ca/leaves/" + n + ".crt", KeyFile: "/ca/leaves/" + n + ".key"}
	}
	return m
}

// TestRenderGolden: the configuration of a serving site with hostnames, an asleep one and
// two services, on both listeners; and of HTTPS only, no site.
func TestRenderGolden(t *testing.T) {
	cases := map[string]Config{
		"two-sites": {
			HTTP: ":80", HTTPS: ":443", Dir: "/run/wpinit-router", User: "www-data", Generation: 7,
			Sites: []Site{
				{Name: "site-84", Names: []string{"site-84.localhost", "blog.test", "*.blog.test"}, Upstream: "172.20.1.4:80", Serving: true},
				{Name: "legacy-74", Names: []string{"legacy-74.localhost"}, Upstream: "172.20.2.4:80"},
			},
			Services: []Service{{Name: "mail", Upstream: "127.0.0.1:1080"}, {Name: "phpmyadmin", Upstream: "127.0.0.1:8080"}},
			Certs:    certs("site-84", "legacy-74"),
		},
		"https-only": {HTTPS: "127.0.0.1:8443", Dir: "/r", User: "nobody", Generation: 1, Certs: certs()},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := Render(c)
			path := filepath.Join("testdata", name+".conf")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (go test -update once): %v", err)
			}
			if got != string(want) {
				t.Errorf("Render differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

func TestCheckNames(t *testing.T) {
	sites := []Site{
		{Name: "mail", Names: []string{"mail.localhost"}},
		{Name: "a", Names: []string{"a.localhost", "phpmyadmin.localhost"}},
		{Name: "b", Names: []string{"b.localhost"}},
	}
	kept, conflicts := checkNames(sites, []Service{{Name: "mail"}, {Name: "phpmyadmin"}})
	if len(kept) != 1 || kept[0].Name != "b" || len(conflicts) != 2 || !strings.Contains(conflicts[0], "mail.localhost is wpinit's mail") {
		t.Errorf("checkNames: kept %v, conflicts %q", kept, conflicts)
	}
}

package config

import (
	"strings"
	"testing"
)

func TestNamesAndURLs(t *testing.T) {
	src := "version = 1\n[[instance]]\nname = \"blog\"\npublish_port = false\nhostnames = [\"blog.test\"]\n" +
		"[[instance]]\nname = \"shop\"\n[defaults]\n"
	cfg, err := ParseInstances("i.toml", []byte(src), map[string]Slot{"blog": {ID: 3, Port: 8005}}, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	blog, shop := cfg.Instances[0], cfg.Instances[1]
	tests := []struct{ name, got, want string }{
		{"blog names", joined(blog.Names()), "blog.localhost blog.test"},
		{"blog url", blog.URL(), "http://blog.localhost"},
		{"blog port host", blog.PortHost(), ""},
		{"shop names", joined(shop.Names()), "shop.localhost"},
		{"shop url", shop.URL(), "http://localhost:8000"},
		{"shop port host", shop.PortHost(), "localhost:8000"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// blog held port 8005 while it was published: it keeps its id, gives the port up.
	if blog.ID != 3 || blog.Port != 0 {
		t.Errorf("blog id/port = %d/%d, want 3/0", blog.ID, blog.Port)
	}
}

func joined(s []string) string { return strings.Join(s, " ") }

func TestSetRouterPorts(t *testing.T) {
	w := defaultWpinit()
	if err := w.SetRouterPorts("8880", ""); err != nil || w.Router.PublicHTTPPort != 8880 || w.Router.PublicHTTPSPort != 443 {
		t.Errorf("SetRouterPorts(8880, \"\") = %v, ports %d/%d", err, w.Router.PublicHTTPPort, w.Router.PublicHTTPSPort)
	}
	if err := w.SetRouterPorts("", "x"); err == nil {
		t.Error("SetRouterPorts accepted a port \"x\"")
	}
}

package instance

import (
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// TestNamesEnv: the PHP container knows the site's hosts (the port URL's first), its
// trusted proxies and its own web server; a site reached by name only publishes no port and
// passes the request's Host on.
func TestNamesEnv(t *testing.T) {
	in := testInstance(t, "hostnames = [\"blog.test\"]\n")
	p := mustPrepare(t, t.TempDir(), in)
	php := p.Def.Container(RolePHP)
	for name, want := range map[string]string{
		EnvHosts: "localhost:8007 blog.localhost blog.test", EnvProxies: "172.20.7.1 172.20.7.3", EnvLoopback: "172.20.7.4:80",
	} {
		if got := envOf(php, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	cfg, err := config.ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"blog\"\nid = 7\npublish_port = false\n"), nil, defaults.Ports)
	if err != nil {
		t.Fatal(err)
	}
	named := mustPrepare(t, t.TempDir(), &cfg.Instances[0])
	if web := named.Def.Container(RoleWeb); web.HostPort != 0 {
		t.Errorf("publish_port = false: web publishes %d", web.HostPort)
	}
	if got := envOf(named.Def.Container(RolePHP), EnvHosts); got != "blog.localhost" {
		t.Errorf("%s = %q for a site without a port", EnvHosts, got)
	}
	conf := nginxConf(&cfg.Instances[0], "172.20.7.3:9000")
	if !strings.Contains(conf, "HTTP_HOST         $http_host;") || !strings.Contains(conf, "SERVER_PORT       $server_port;") {
		t.Errorf("server block of a site without a port:\n%s", conf)
	}
	if conf := nginxConf(in, "x"); !strings.Contains(conf, "HTTP_HOST         $host:8007;") {
		t.Errorf("server block of a site with a port:\n%s", conf)
	}
}

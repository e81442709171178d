package router

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
)

// Site is one declared instance as the router sees it.
type Site struct {
	Name     string   // the instance
	Names    []string // its server names, NAME.localhost first
	Upstream string   // its web server, "172.20.1.4:80"
	Serving  bool     // proxied to Upstream; false: the wake endpoint answers (asleep, or not serving yet)
}

// Service is one of wpinit's own web UIs, answered at NAME.localhost.
type Service struct {
	Name     string
	Upstream string // "127.0.0.1:8080"
}

// Cert is a certificate and key nginx reads.
type Cert struct{ CertFile, KeyFile string }

// Headers on every answer that went through a site's server block, and on the wake
// endpoint's requests: which site it is, and (wake requests only) the generation of the
// configuration that sent it there. The probe's path answers the generation.
const (
	SiteHeader       = "X-WP-Dind-Site"
	GenerationHeader = "X-WP-Dind-Generation"
	probePath        = "/.wp-dind-router/generation"
)

// Leaf names of the certificates that are not a site's.
const (
	servicesLeaf = "_services"
	defaultLeaf  = "_default"
)

// Config is what Render needs: the listen addresses, the folder of the router's files, the
// workers' user, and what to route with which certificate (by leaf name: a site's name,
// servicesLeaf, defaultLeaf).
type Config struct {
	HTTP, HTTPS string // "[host]:port"; "" = none
	Dir         string
	User        string
	Generation  uint64
	Sites       []Site
	Services    []Service
	Certs       map[string]Cert
}

// Paths of the router's files in its folder.
func (c *Config) path(name string) string { return filepath.Join(c.Dir, name) }

// Socket files: wpinit's wake endpoint and the access log's syslog socket.
const (
	WakeSocket     = "wake.sock"
	ActivitySocket = "activity.sock"
)

// Render writes the nginx configuration of c. It is pure.
func Render(c Config) string {
	var b strings.Builder
	c.head(&b)
	c.defaultServer(&b)
	for _, s := range c.Services {
		c.serviceServer(&b, s)
	}
	for _, s := range c.Sites {
		c.siteServer(&b, s)
	}
	b.WriteString("}\n")
	return b.String()
}

func (c *Config) head(b *strings.Builder) {
	fmt.Fprintf(b, `# The router's nginx.conf, generation %d, written by wpinit from instances.toml: every
# change of the sites rewrites it (docs/operations.md, "Names and HTTPS"). Do not edit.
user %s;
worker_processes auto;
pid %s;
error_log stderr warn;

events {
    worker_connections 4096;
}

http {
    server_tokens off;
    access_log off;
    client_max_body_size 0;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    proxy_http_version 1.1;
    proxy_request_buffering off;
    proxy_read_timeout 300s;
    proxy_send_timeout 300s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:router:10m;
    # The first TLS record leaves once 4 KiB are ready, not 16 KiB: a page's first bytes are
    # not held back (time to first byte through the router).
    ssl_buffer_size 4k;
    # One datagram per request to wpinit: the site's last request, for sleep_after.
    log_format activity '$wpdind_site';
    map $http_upgrade $wpdind_connection {
        default upgrade;
        ''      '';
    }
`, c.Generation, c.User, c.path("nginx.pid"), c.path("tmp/body"), c.path("tmp/proxy"), c.path("tmp/fastcgi"),
		c.path("tmp/uwsgi"), c.path("tmp/scgi"))
}

// listen writes the server's listen lines; def makes it the default server.
func (c *Config) listen(b *strings.Builder, def bool, cert Cert) {
	suffix := ""
	if def {
		suffix = " default_server"
	}
	if c.HTTP != "" {
		fmt.Fprintf(b, "        listen %s%s;\n", nginxListen(c.HTTP), suffix)
	}
	if c.HTTPS != "" {
		fmt.Fprintf(b, "        listen %s ssl%s;\n        ssl_certificate %s;\n        ssl_certificate_key %s;\n",
			nginxListen(c.HTTPS), suffix, cert.CertFile, cert.KeyFile)
	}
}

// nginxListen turns ":80" into nginx's "80" (every IPv4 address); "127.0.0.1:80" stays.
func nginxListen(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return port
	}
	return net.JoinHostPort(host, port)
}

// defaultServer answers names the router does not know, and the probe of the generation.
func (c *Config) defaultServer(b *strings.Builder) {
	b.WriteString("\n    # A name no site has.\n    server {\n")
	c.listen(b, true, c.Certs[defaultLeaf])
	fmt.Fprintf(b, `        set $wpdind_site "";
        location = %s {
            default_type text/plain;
            return 200 "%d\n";
        }
        location / {
            default_type text/plain;
            return 404 "wp-dind: no site is called $host (wpinit ctl sites lists them)\n";
        }
    }
`, probePath, c.Generation)
}

// proxyHeaders are written in every proxying location: a location that sets one header
// would drop every header inherited from its server.
func proxyHeaders(b *strings.Builder, extra ...string) {
	for _, h := range append([]string{
		"Host $http_host", "X-Forwarded-Host $http_host", "X-Forwarded-Proto $scheme",
		"X-Forwarded-For $proxy_add_x_forwarded_for", "Upgrade $http_upgrade", "Connection $wpdind_connection",
	}, extra...) {
		fmt.Fprintf(b, "            proxy_set_header %s;\n", h)
	}
}

func (c *Config) serviceServer(b *strings.Builder, s Service) {
	fmt.Fprintf(b, "\n    # wpinit's %s.\n    server {\n", s.Name)
	c.listen(b, false, c.Certs[servicesLeaf])
	fmt.Fprintf(b, "        server_name %s.localhost;\n        set $wpdind_site \"\";\n        location / {\n            proxy_pass http://%s;\n", s.Name, s.Upstream)
	b.WriteString("            proxy_buffering off;\n            proxy_read_timeout 1h;\n")
	proxyHeaders(b)
	b.WriteString("        }\n    }\n")
}

// siteServer proxies a serving site to its upstream, and any other to the wake endpoint.
func (c *Config) siteServer(b *strings.Builder, s Site) {
	state := "serving"
	if !s.Serving {
		state = "asleep or not serving yet: the wake endpoint answers"
	}
	upstream := "site_" + s.Name
	if s.Serving {
		fmt.Fprintf(b, "\n    upstream %s {\n        server %s;\n        keepalive 16;\n    }\n", upstream, s.Upstream)
	}
	fmt.Fprintf(b, "\n    # Site %s (%s).\n    server {\n", s.Name, state)
	c.listen(b, false, c.Certs[s.Name])
	fmt.Fprintf(b, `        server_name %s;
        set $wpdind_site %s;
        access_log syslog:server=unix:%s,nohostname,tag=router activity;
        add_header %s %s always;
`, strings.Join(s.Names, " "), s.Name, c.path(ActivitySocket), SiteHeader, s.Name)
	b.WriteString("        location / {\n")
	if s.Serving {
		fmt.Fprintf(b, "            proxy_pass http://%s;\n", upstream)
		proxyHeaders(b)
	} else {
		// Held while the site wakes; the connection closes after the answer, so that the
		// browser's next request reaches a worker of the configuration that proxies it.
		fmt.Fprintf(b, "            keepalive_timeout 0;\n            proxy_buffering off;\n            proxy_read_timeout 60s;\n            proxy_pass http://unix:%s;\n", c.path(WakeSocket))
		proxyHeaders(b, SiteHeader+" "+s.Name, fmt.Sprintf("%s %d", GenerationHeader, c.Generation))
	}
	b.WriteString("        }\n    }\n")
}

// checkNames drops the sites whose names a service or an earlier site has (instances.toml
// keeps sites apart; a service is wpinit.toml's), and says why for each.
func checkNames(sites []Site, services []Service) ([]Site, []string) {
	owner := map[string]string{}
	for _, s := range services {
		owner[s.Name+".localhost"] = "wpinit's " + s.Name
	}
	var kept []Site
	var conflicts []string
	for _, s := range sites {
		i := slices.IndexFunc(s.Names, func(n string) bool { return owner[n] != "" })
		if i >= 0 {
			conflicts = append(conflicts, fmt.Sprintf("site %s is not routed: %s is %s", s.Name, s.Names[i], owner[s.Names[i]]))
			continue
		}
		for _, n := range s.Names {
			owner[n] = "site " + s.Name
		}
		kept = append(kept, s)
	}
	return kept, conflicts
}

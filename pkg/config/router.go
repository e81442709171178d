package config

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Router is [router]: the nginx that answers every site by name over HTTP and HTTPS
// (docs/operations.md, "Names and HTTPS"). wpinit renders its configuration into Dir from
// the declared instances and reloads the supervised service Service with HUP. Read at boot
// only; off while both listen addresses are empty.
type Router struct {
	HTTP  string `toml:"http" json:"http"`   // listen address for http://NAME.localhost, ":80"; "" = none
	HTTPS string `toml:"https" json:"https"` // listen address for https://NAME.localhost, ":443"; "" = none
	// The ports a browser on the host reaches HTTP and HTTPS on (make run publishes the
	// container's 80 and 443 there): the dashboard's links and `ctl sites` name them.
	PublicHTTPPort  int    `toml:"public_http_port" json:"public_http_port"`
	PublicHTTPSPort int    `toml:"public_https_port" json:"public_https_port"`
	Service         string `toml:"service" json:"service"` // the [services.NAME] running nginx on Config()
	Dir             string `toml:"dir" json:"dir"`         // its config, sockets and temporary files
	User            string `toml:"user" json:"user"`       // nginx's workers run as this user
	// Services are wpinit's own web UIs by name: NAME.localhost is proxied to the address
	// ("phpmyadmin" = "127.0.0.1:8080").
	Services map[string]string `toml:"services" json:"services"`
}

func defaultRouter() Router {
	return Router{PublicHTTPPort: 80, PublicHTTPSPort: 443, Service: "router", Dir: "/run/wpinit-router", User: "www-data"}
}

// Enabled reports whether the router runs at all.
func (r *Router) Enabled() bool { return r.HTTP != "" || r.HTTPS != "" }

// ConfigFile is the nginx configuration wpinit writes, which the router's service reads.
func (r *Router) ConfigFile() string { return filepath.Join(r.Dir, "nginx.conf") }

var upstreamRE = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+$`)

// validate checks [router]; services are wpinit.toml's, one of which must run nginx on
// ConfigFile (a second home of the path, which this check keeps equal to the first).
func (r *Router) validate(p *problems, services map[string]*Service) {
	if !r.Enabled() {
		return
	}
	for _, a := range []struct{ key, addr string }{{"router.http", r.HTTP}, {"router.https", r.HTTPS}} {
		if a.addr != "" && !validListen(a.addr) {
			p.add(a.key, "invalid address %q: use [host]:port, like \":80\" (or \"\" for none)", a.addr)
		}
	}
	for _, k := range []struct {
		key  string
		port int
	}{{"router.public_http_port", r.PublicHTTPPort}, {"router.public_https_port", r.PublicHTTPSPort}} {
		if k.port < 1 || k.port > 65535 {
			p.add(k.key, "%d out of range 1-65535", k.port)
		}
	}
	if !filepath.IsAbs(r.Dir) {
		p.add("router.dir", "must be an absolute path")
	}
	if r.User == "" {
		p.add("router.user", "required: nginx's workers must not run as root")
	}
	r.validateService(p, services)
	for _, name := range sortedKeys(r.Services) {
		if err := ValidName(name); err != nil {
			p.add("router.services."+name, "%v", err)
		}
		if addr := r.Services[name]; !validListen(addr) || strings.HasPrefix(addr, ":") || !upstreamRE.MatchString(addr) {
			p.add("router.services."+name, "invalid address %q: use host:port, like \"127.0.0.1:8080\"", addr)
		}
	}
}

func (r *Router) validateService(p *problems, services map[string]*Service) {
	s := services[r.Service]
	switch {
	case s == nil:
		p.add("router.service", "no [services.%s]: the router is that service's nginx", r.Service)
	case !slices.Contains(s.Args, r.ConfigFile()):
		p.add("router.service", "[services.%s] does not read %s (router.dir): give it args [\"-c\", %q, ...]", r.Service, r.ConfigFile(), r.ConfigFile())
	}
}

// validListen: "host:port" or ":port" with a port in 1-65535.
func validListen(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 1 && n <= 65535
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SetRouterPorts sets the ports the router is published on on the host, as
// WPINIT_ROUTER_HTTP_PORT and WPINIT_ROUTER_HTTPS_PORT ask (make run falls back to others
// when 80 or 443 are taken); an empty value keeps the file's.
func (w *Wpinit) SetRouterPorts(httpPort, httpsPort string) error {
	for _, e := range []struct {
		env, v string
		dst    *int
	}{{"WPINIT_ROUTER_HTTP_PORT", httpPort, &w.Router.PublicHTTPPort}, {"WPINIT_ROUTER_HTTPS_PORT", httpsPort, &w.Router.PublicHTTPSPort}} {
		if e.v == "" {
			continue
		}
		n, err := strconv.Atoi(e.v)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s=%q: want a port, 1-65535", e.env, e.v)
		}
		*e.dst = n
	}
	return nil
}

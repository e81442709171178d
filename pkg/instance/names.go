package instance

import (
	"strconv"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// The PHP container's view of the site's URLs, read by the wp-php image's prepend file and
// must-use plugin (docs/images.md, "php"): WordPress answers on each known host with that
// host's own URL, trusts X-Forwarded-Proto and X-Forwarded-Host only from the proxies (the
// router, which reaches the instance from its network's gateway, and the PHP container
// itself, for its loopback requests), and sends requests for its own hosts to its own web
// server rather than to 127.0.0.1 of the PHP container.
const (
	EnvHosts    = "WORDPRESS_HOSTS"           // "localhost:8001 site-84.localhost blog.test": a name without a port matches any port
	EnvProxies  = "WORDPRESS_TRUSTED_PROXIES" // "172.20.1.1 172.20.1.3"
	EnvLoopback = "WORDPRESS_LOOPBACK"        // "172.20.1.4:80"
)

// namesEnv is the site's known hosts, trusted proxies and loopback address for its PHP.
func namesEnv(in *config.Instance, net Network) []EnvVar {
	hosts := in.Names()
	if h := in.PortHost(); h != "" {
		hosts = append([]string{h}, hosts...)
	}
	return []EnvVar{
		{Name: EnvHosts, Value: strings.Join(hosts, " ")},
		{Name: EnvProxies, Value: net.Gateway() + " " + net.IP(RolePHP)},
		{Name: EnvLoopback, Value: net.IP(RoleWeb) + ":" + strconv.Itoa(WebPort)},
	}
}

// hostParams are the FastCGI HTTP_HOST and SERVER_PORT of the nginx server block: the
// client's host name with the published port, never the raw Host header, for a site with
// a port (its address, http://localhost:PORT, is the one browsers use there); the request's
// own Host for a site reached by name only, which the router always sends with its port.
func hostParams(in *config.Instance) (host, port string) {
	if in.Port == 0 {
		return "$http_host", "$server_port"
	}
	p := strconv.Itoa(in.Port)
	return "$host:" + p, p
}

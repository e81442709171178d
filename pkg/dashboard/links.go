package dashboard

import (
	"net/url"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// Links are the base URLs of the shared web UIs, as a browser on the host reaches them.
type Links struct {
	PhpMyAdmin string // http://localhost:8080/, or https://phpmyadmin.localhost/ through the router
	Mail       string // http://localhost:1080/, or https://mail.localhost/
	Dashboard  string // the dashboard's own name through the router, https://wp-dind.localhost/; "" without one
	// Named is where a browser reaches a host name through the router
	// (https://NAME.localhost[:PORT]/); nil without a router: sites are linked at their port URL.
	Named func(host string) string
}

// InstanceLinks are the links shown for one instance.
type InstanceLinks struct {
	Site, Admin, PhpMyAdmin, Mail string
}

// For builds an instance's links: the one place that knows where each page is. A site is
// linked at its first name through the router when there is one, else at its port URL.
// phpMyAdmin chooses a server by its verbose name (its FAQ 4.8): the instance's name.
func (l Links) For(in ctl.InstanceStatus) InstanceLinks {
	site := strings.TrimSuffix(in.URL, "/") + "/"
	if l.Named != nil && len(in.Names) > 0 {
		if u := l.Named(in.Names[0]); u != "" {
			site = u
		}
	}
	return InstanceLinks{
		Site:       site,
		Admin:      site + "wp-admin/",
		PhpMyAdmin: strings.TrimSuffix(l.PhpMyAdmin, "/") + "/index.php?server=" + url.QueryEscape(in.Name),
		Mail:       l.Mail,
	}
}

package dashboard

import (
	"net/url"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// Links are the base URLs of the shared web UIs, as a browser on the host reaches them.
type Links struct {
	PhpMyAdmin string // http://localhost:8080/
	Mail       string // http://localhost:1080/
}

// InstanceLinks are the links shown for one instance.
type InstanceLinks struct {
	Site, Admin, PhpMyAdmin, Mail string
}

// For builds an instance's links: the one place that knows where each page is (the router
// will give them names like http://NAME.localhost; only this changes then). phpMyAdmin
// chooses a server by its verbose name (its FAQ 4.8): the instance's name.
func (l Links) For(in ctl.InstanceStatus) InstanceLinks {
	site := strings.TrimSuffix(in.URL, "/") + "/"
	return InstanceLinks{
		Site:       site,
		Admin:      site + "wp-admin/",
		PhpMyAdmin: strings.TrimSuffix(l.PhpMyAdmin, "/") + "/index.php?server=" + url.QueryEscape(in.Name),
		Mail:       l.Mail,
	}
}

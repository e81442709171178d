package main

import (
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/dashboard"
)

// TestDashboardLinks: with the router, the dashboard links every site and the services the
// router names by name on its public HTTPS port; without it, the port URLs of [dashboard].
func TestDashboardLinks(t *testing.T) {
	cfg := &config.Wpinit{Dashboard: config.Dashboard{PhpMyAdminURL: "http://localhost:8080/", MailURL: "http://localhost:1080/"}}
	site := ctl.InstanceStatus{Name: "site-84", URL: "http://localhost:8001", Names: []string{"site-84.localhost", "blog.test"}}
	off := dashboardLinks(cfg)
	if got, want := off.For(site), (dashboard.InstanceLinks{Site: "http://localhost:8001/", Admin: "http://localhost:8001/wp-admin/",
		PhpMyAdmin: "http://localhost:8080/index.php?server=site-84", Mail: "http://localhost:1080/"}); got != want || off.Dashboard != "" {
		t.Errorf("without the router: %+v (dashboard %q), want %+v", got, off.Dashboard, want)
	}
	cfg.Router = config.Router{HTTP: ":80", HTTPS: ":443", PublicHTTPPort: 8880, PublicHTTPSPort: 8443,
		Services: map[string]string{"phpmyadmin": "127.0.0.1:8080", "mail": "127.0.0.1:1080", "wp-dind": "127.0.0.1:8500"}}
	on := dashboardLinks(cfg)
	if got, want := on.For(site), (dashboard.InstanceLinks{Site: "https://site-84.localhost:8443/", Admin: "https://site-84.localhost:8443/wp-admin/",
		PhpMyAdmin: "https://phpmyadmin.localhost:8443/index.php?server=site-84", Mail: "https://mail.localhost:8443/"}); got != want {
		t.Errorf("with the router: %+v, want %+v", got, want)
	}
	if on.Dashboard != "https://wp-dind.localhost:8443/" {
		t.Errorf("the dashboard's own name: %q", on.Dashboard)
	}
	delete(cfg.Router.Services, "mail") // a service the router does not name keeps its port URL
	if got := dashboardLinks(cfg).For(site).Mail; got != "http://localhost:1080/" {
		t.Errorf("mail not routed: %q", got)
	}
}

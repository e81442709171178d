// Package dashboard is wp-dind's web page: the services, the image loads, the instances with
// their links, live CPU, memory and disk use, and actions on them (Xdebug, backup, restart),
// and the logs of a service or of an instance's container.
//
// It is built from ctl's wire types only: init/ hands it the status the ctl server
// assembles for GET /v1/status, the instance API the ctl routes serve, and log followers.
// Pages are html/template, the assets are embedded (go:embed); the sections of the page
// are rendered on the server and sent again over Server-Sent Events when they change, so
// one renderer draws both the first page and its updates.
//
// Safety: every request must name a local host (localhost, *.localhost or an IP address:
// a DNS-rebinding page is refused); every action is a POST carrying the page's CSRF token
// from the same origin; secrets are sent only in answer to such a POST ("show").
package dashboard

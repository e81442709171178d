// Package router is wp-dind's router: Debian's nginx, run by the supervisor as its own
// service, answering every site by name (http:// and https://NAME.localhost and the site's
// hostnames) and wpinit's own web UIs (phpmyadmin.localhost, ...), with certificates from
// pkg/ca.
//
// Render is pure: the sites, the services, the certificates and the options in, the nginx
// configuration out. A Router writes it atomically, has `nginx -t` check it, and applies it
// with a HUP to the service (a graceful reload: old workers finish their requests). It knows
// a generation is live once the router's new workers answer it.
//
// Invariants: a configuration nginx refuses never replaces the running one (the error shows
// in the status); the router proxies a site only while it serves: an asleep site, or one not
// serving yet, goes to the router's wake endpoint, which wakes it (Options.Wake) and sends
// the browser back (307) once the new configuration proxies it.
package router

package testutil

import (
	"net/http"
	"net/url"
)

// SameSiteRedirect is the path (with its query) that resp redirects to when it is a
// redirect to the same site, host (the Host the request sent): WordPress's canonical
// redirect of /?p=ID to the post's pretty permalink, for one. Anything else is "", false:
// a redirect to another host is the caller's to report.
func SameSiteRedirect(resp *http.Response, host string) (string, bool) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return "", false
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != host || (loc.Scheme != "http" && loc.Scheme != "") {
		return "", false
	}
	return loc.RequestURI(), true
}

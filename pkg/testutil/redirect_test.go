package testutil

import (
	"net/http"
	"testing"
)

func TestSameSiteRedirect(t *testing.T) {
	for _, c := range []struct {
		code     int
		location string
		want     string
		ok       bool
	}{
		{301, "http://localhost:8001/2026/12/02/hello/", "/2026/12/02/hello/", true},
		{302, "http://localhost:8001/?x=1", "/?x=1", true},
		{301, "https://localhost:8001/", "", false},
		{301, "http://other.localhost/", "", false},
		{200, "http://localhost:8001/", "", false},
		{301, "%zz", "", false},
	} {
		resp := &http.Response{StatusCode: c.code, Header: http.Header{"Location": {c.location}}}
		got, ok := SameSiteRedirect(resp, "localhost:8001")
		if got != c.want || ok != c.ok {
			t.Errorf("%d %q: %q %v, want %q %v", c.code, c.location, got, ok, c.want, c.ok)
		}
	}
}

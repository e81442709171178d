package ctl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// The router's routes and status section: `ctl ca` prints the local CA's certificate,
// `ctl wake NAME` wakes an asleep site; the "router" section mirrors pkg/router's Status.
const (
	RouteCA   = "GET /v1/ca"                     // the CA certificate, PEM
	RouteWake = "POST /v1/instances/{name}/wake" // returns once the site serves
)

// SectionRouter is the router's status section.
const SectionRouter Section = "router"

// RouterStatus is the "router" section.
type RouterStatus struct {
	HTTP            string             `json:"http,omitempty"`
	HTTPS           string             `json:"https,omitempty"`
	PublicHTTPPort  int                `json:"public_http_port,omitempty"`
	PublicHTTPSPort int                `json:"public_https_port,omitempty"`
	CA              string             `json:"ca,omitempty"` // the CA certificate's file
	Generation      uint64             `json:"generation"`
	Wanted          uint64             `json:"wanted"`
	Applied         time.Time          `json:"applied,omitzero"`
	Took            time.Duration      `json:"took,omitempty"`
	Reloads         int                `json:"reloads"`
	Error           string             `json:"error,omitempty"`
	ErrorAt         time.Time          `json:"error_at,omitzero"`
	Conflicts       []string           `json:"conflicts,omitempty"`
	Sites           []RouterSiteStatus `json:"sites"`
}

// RouterSiteStatus is one site of the router's live configuration.
type RouterSiteStatus struct {
	Name        string        `json:"name"`
	Names       []string      `json:"names"`
	Upstream    string        `json:"upstream"`
	Serving     bool          `json:"serving"`
	RouteAdd    time.Duration `json:"route_add,omitempty"`
	CertExpires time.Time     `json:"cert_expires,omitzero"`
	LastRequest time.Time     `json:"last_request,omitzero"`
}

// URL is where a browser on the host reaches host through the router: https when the router
// has HTTPS, the port left out when it is the scheme's own; "" without a router.
func (r *RouterStatus) URL(host string) string {
	switch {
	case r == nil:
		return ""
	case r.HTTPS != "":
		return hostURL("https", host, r.PublicHTTPSPort, 443)
	case r.HTTP != "":
		return hostURL("http", host, r.PublicHTTPPort, 80)
	}
	return ""
}

func hostURL(scheme, host string, port, def int) string {
	if port == def || port == 0 {
		return scheme + "://" + host + "/"
	}
	return fmt.Sprintf("%s://%s:%d/", scheme, host, port)
}

// HandleRouter adds the router's routes: ca returns the CA certificate, wake wakes a site.
func (s *Server) HandleRouter(ca func() ([]byte, error), wake func(ctx context.Context, name string) error) {
	s.mux.HandleFunc(RouteCA, func(w http.ResponseWriter, _ *http.Request) {
		pem, err := ca()
		if err != nil {
			WriteError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pem)
	})
	s.mux.HandleFunc(RouteWake, func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := config.ValidName(name); err != nil {
			WriteError(w, badRequest(err.Error()))
			return
		}
		if err := wake(r.Context(), name); err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, struct{}{})
	})
}

// CA fetches the local CA's certificate (PEM).
func (c *Client) CA(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/ca", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	if !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		return nil, fmt.Errorf("read CA certificate: the answer is no PEM certificate")
	}
	return b, nil
}

// Wake wakes an asleep site and returns once it serves.
func (c *Client) Wake(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(name)+"/wake", nil, nil)
}

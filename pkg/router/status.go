package router

import (
	"slices"
	"time"
)

// Status is the router's view for `ctl status`.
type Status struct {
	HTTP            string `json:"http,omitempty"`
	HTTPS           string `json:"https,omitempty"`
	PublicHTTPPort  int    `json:"public_http_port,omitempty"` // where a browser on the host reaches it
	PublicHTTPSPort int    `json:"public_https_port,omitempty"`
	CA              string `json:"ca,omitempty"` // the CA certificate's file

	Generation uint64        `json:"generation"`        // live
	Wanted     uint64        `json:"wanted"`            // asked for; above Generation while an apply is due or failed
	Applied    time.Time     `json:"applied,omitzero"`  // when Generation went live
	Took       time.Duration `json:"took,omitempty"`    // from its Set to its new workers answering
	Reloads    int           `json:"reloads"`           // HUPs sent
	Error      string        `json:"error,omitempty"`   // the last apply's
	ErrorAt    time.Time     `json:"error_at,omitzero"` // when it failed
	Conflicts  []string      `json:"conflicts,omitempty"`
	Sites      []SiteStatus  `json:"sites"`
}

// SiteStatus is one site of the live configuration.
type SiteStatus struct {
	Name     string   `json:"name"`
	Names    []string `json:"names"`
	Upstream string   `json:"upstream"`
	Serving  bool     `json:"serving"` // proxied; false: the wake endpoint answers
	// RouteAdd is how long the apply that first routed the site took: from the reconciler
	// handing the router the new set of sites to the new workers answering.
	RouteAdd    time.Duration `json:"route_add,omitempty"`
	CertExpires time.Time     `json:"cert_expires,omitzero"`
	LastRequest time.Time     `json:"last_request,omitzero"` // through the router
}

// Status returns the router's status. Safe from any goroutine.
func (r *Router) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &r.applied
	st := Status{HTTP: r.opt.HTTP, HTTPS: r.opt.HTTPS, PublicHTTPPort: r.opt.PublicHTTPPort, PublicHTTPSPort: r.opt.PublicHTTPSPort,
		CA: r.opt.CA.CertPath(), Generation: a.gen, Wanted: r.wantGen, Applied: a.at, Took: a.took,
		Reloads: a.reloads, Conflicts: a.conflicts}
	if a.err != nil {
		st.Error, st.ErrorAt = a.err.Error(), a.errAt
	}
	for _, s := range a.sites {
		st.Sites = append(st.Sites, SiteStatus{Name: s.Name, Names: s.Names, Upstream: s.Upstream, Serving: s.Serving,
			RouteAdd: a.added[s.Name], CertExpires: a.certs[s.Name].NotAfter, LastRequest: r.activity.lastRequest(s.Name)})
	}
	slices.SortFunc(st.Sites, func(x, y SiteStatus) int {
		if x.Name < y.Name {
			return -1
		}
		return 1
	})
	return st
}

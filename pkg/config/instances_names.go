package config

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// How a site is reached besides its port: the names the router answers for it, whether its
// port is published at all, and when it sleeps. Names is the one place that knows a site's
// names: the router's server blocks, its certificate, WordPress's known hosts and the
// dashboard's links all come from it.

// LocalDomain is the domain every site has a name under: NAME.localhost. Browsers and curl
// send every *.localhost name to the loopback address without any DNS setup.
const LocalDomain = "localhost"

// MinSleepAfter is the shortest sleep_after: a site must be idle at least this long.
const MinSleepAfter = 10 * time.Second

// MaxHostnames bounds an instance's hostnames list (each is a certificate name and a
// server name of the router).
const MaxHostnames = 20

// Names are the host names the site answers at through the router, NAME.localhost first,
// then its hostnames as declared. A name may be a wildcard of one label ("*.blog.test").
func (in *Instance) Names() []string {
	return append([]string{in.Name + "." + LocalDomain}, in.Hostnames...)
}

// PortHost is the Host of the site's port URL, "localhost:8001"; "" when its port is not
// published.
func (in *Instance) PortHost() string {
	if in.Port == 0 {
		return ""
	}
	return fmt.Sprintf("localhost:%d", in.Port)
}

// hostnameRE is a lowercase DNS name of at least two labels, optionally starting with a
// wildcard label: what a certificate's DNS name and nginx's server_name both accept.
var hostnameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidHostname reports why h is no valid hostnames entry, or nil.
func ValidHostname(h string) error {
	switch {
	case len(h) > 253 || !hostnameRE.MatchString(h):
		return fmt.Errorf("invalid host name %q: lowercase letters, digits, '-' and dots, at least two labels (a first label \"*\" for a wildcard)", h)
	case h == LocalDomain || h == "*."+LocalDomain:
		return fmt.Errorf("host name %q would take every site's name", h)
	}
	return nil
}

// routing validates and resolves publish_port, hostnames and sleep_after into in.
func (v *validator) routing(key string, e *InstanceEntry, d *InstanceSettings, in *Instance) {
	publish := e.PublishPort == nil && (d.PublishPort == nil || *d.PublishPort) || e.PublishPort != nil && *e.PublishPort
	if !publish {
		in.noPort = true
		if e.Port != nil {
			v.add(key+".port", "port %d is given but publish_port = false: remove one of them", *e.Port)
		}
	}
	if len(e.Hostnames) > MaxHostnames {
		v.add(key+".hostnames", "%d host names: at most %d", len(e.Hostnames), MaxHostnames)
	}
	for _, h := range e.Hostnames {
		if err := ValidHostname(h); err != nil {
			v.add(key+".hostnames", "%v", err)
		} else if !slices.Contains(in.Hostnames, h) {
			in.Hostnames = append(in.Hostnames, h)
		}
	}
	after := d.SleepAfter
	if e.SleepAfter != nil {
		after = e.SleepAfter
	}
	if after != nil && after.D() != 0 && after.D() < MinSleepAfter {
		k := key + ".sleep_after"
		if e.SleepAfter == nil {
			k = "defaults.sleep_after"
		}
		v.addOnce(k, "%s is too short: at least %s (or \"0s\" to never sleep)", after.D(), MinSleepAfter)
	}
	if after != nil {
		in.SleepAfter = after.D()
	}
}

// uniqueNames reports a host name two instances claim: another's hostnames entry, or its
// NAME.localhost. A wildcard may cover a name another instance has exactly: the exact name
// wins, in nginx's choice of a server as in WordPress's check of its host.
func (v *validator) uniqueNames(ins []Instance, entries []InstanceEntry) {
	owner := map[string]string{}
	for _, in := range ins {
		if in.Name != "" {
			owner[in.Name+"."+LocalDomain] = in.Name
		}
	}
	for i, in := range ins {
		for _, h := range entries[i].Hostnames {
			if o, taken := owner[h]; taken && o != in.Name {
				v.add(entries[i].key+".hostnames", "host name %q is instance %q's", h, o)
				continue
			}
			owner[h] = in.Name
		}
	}
}

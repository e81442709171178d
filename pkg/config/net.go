package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of host ports, written "8000-8099".
type PortRange struct {
	First, Last int
}

func (r *PortRange) UnmarshalText(b []byte) error {
	first, last, ok := strings.Cut(string(b), "-")
	f, ferr := strconv.Atoi(strings.TrimSpace(first))
	l, lerr := strconv.Atoi(strings.TrimSpace(last))
	if !ok || ferr != nil || lerr != nil {
		return fmt.Errorf("invalid port range %q: use FIRST-LAST, like \"8000-8099\"", b)
	}
	if f < 1 || l > 65535 || f > l {
		return fmt.Errorf("invalid port range %q: ports 1-65535, the first not above the last", b)
	}
	*r = PortRange{First: f, Last: l}
	return nil
}

func (r PortRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// String is the range as written, "8000-8099".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// Contains reports whether port lies in the range.
func (r PortRange) Contains(port int) bool { return port >= r.First && port <= r.Last }

// Subnet is an IPv4 network in CIDR form, written at its network address: "172.20.0.0/16".
type Subnet netip.Prefix

func (s *Subnet) UnmarshalText(b []byte) error {
	p, err := netip.ParsePrefix(string(b))
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("invalid subnet %q: use an IPv4 network like \"172.20.0.0/16\"", b)
	}
	if p != p.Masked() {
		return fmt.Errorf("invalid subnet %q: write its network address, %s", b, p.Masked())
	}
	*s = Subnet(p)
	return nil
}

func (s Subnet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// P returns the value as a netip.Prefix.
func (s Subnet) P() netip.Prefix { return netip.Prefix(s) }

func (s Subnet) String() string { return s.P().String() }

// mustSubnet is for the defaults, written as literals.
func mustSubnet(s string) Subnet { return Subnet(netip.MustParsePrefix(s)) }

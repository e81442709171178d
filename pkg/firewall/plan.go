package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Policy is what the instances may reach.
type Policy struct {
	// BridgePrefix starts the name of every instance network's bridge and the shared one's.
	BridgePrefix string
	// SharedBridge is the shared network's bridge (BridgePrefix+"shared").
	SharedBridge string
	// Subnets hold every instance address (instances.subnets); SharedSubnet the shared
	// network's. They catch the traffic of networks whose bridge has no such name.
	Subnets      netip.Prefix
	SharedSubnet netip.Prefix
	// AllowTCP are the ports of the wp-dind container an instance may connect to.
	AllowTCP []int
	// SharedTCP are the ports one container of the shared network may connect to on another.
	SharedTCP []int
}

// Family is an address family and the iptables tools of it.
type Family string

const (
	IPv4 Family = "iptables"
	IPv6 Family = "ip6tables"
)

// The chains wpinit owns (replaced whole at every Apply) and the ones it shares with dockerd
// (only its jump, first, is wpinit's).
const (
	ChainInput    = "WPDIND-INPUT"    // first in INPUT: sorts out the instances' packets
	ChainInstance = "WPDIND-INSTANCE" // what an instance may send to the wp-dind container
	ChainForward  = "WPDIND-FORWARD"  // first in DOCKER-USER (IPv6: FORWARD)
	ChainShared   = "WPDIND-SHARED"   // what passes between containers of the shared network

	chainDockerUser = "DOCKER-USER" // dockerd's chain for the user's rules, first in FORWARD
)

// Ruleset is one family's filter table part: wpinit's chains and the jumps to them.
type Ruleset struct {
	Family Family
	Chains []Chain
	Jumps  []Jump
}

// Chain is a chain of wpinit's and its rules, each as iptables arguments after "-A CHAIN".
type Chain struct {
	Name  string
	Rules [][]string
}

// Jump is the rule "-j To", kept first in From, a chain wpinit does not own. Create makes
// From when it does not exist: DOCKER-USER before dockerd's first start, which then uses it.
type Jump struct {
	From, To string
	Create   bool
}

// bridgeRE is what a bridge prefix may be: the start of a Linux interface name.
var bridgeRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,8}$`)

// Plan returns the IPv4 and the IPv6 rule sets of p.
func Plan(p Policy) ([]Ruleset, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	return []Ruleset{p.ipv4(), p.ipv6()}, nil
}

func (p Policy) check() error {
	var errs []error
	if !bridgeRE.MatchString(p.BridgePrefix) {
		errs = append(errs, fmt.Errorf("bridge prefix %q: want 1-9 lowercase letters and digits, starting with a letter", p.BridgePrefix))
	}
	if !strings.HasPrefix(p.SharedBridge, p.BridgePrefix) || len(p.SharedBridge) > 15 {
		errs = append(errs, fmt.Errorf("shared bridge %q: want a name of at most 15 characters starting with %q", p.SharedBridge, p.BridgePrefix))
	}
	for _, s := range []netip.Prefix{p.Subnets, p.SharedSubnet} {
		if !s.IsValid() || !s.Addr().Is4() {
			errs = append(errs, fmt.Errorf("subnet %s: want an IPv4 network", s))
		}
	}
	for _, port := range slices.Concat(p.AllowTCP, p.SharedTCP) {
		if port < 1 || port > 65535 {
			errs = append(errs, fmt.Errorf("port %d: want 1-65535", port))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("plan firewall: %w", errors.Join(errs...))
	}
	return nil
}

// ipv4: the instances' packets to the container itself, and those between two containers of
// the shared network (dockerd accepts the rest of the forwarded traffic in its own chains and
// already drops what goes from one instance network to another).
func (p Policy) ipv4() Ruleset {
	fromInstance := [][]string{
		// The container's own processes talking to one of its addresses on the bridges
		// (172.20.N.1) carry an instance subnet's address too: they are not an instance.
		{"-i", "lo", "-j", "RETURN"},
		{"-i", p.BridgePrefix + "+", "-j", ChainInstance},
		{"-s", p.Subnets.String(), "-j", ChainInstance},
		{"-s", p.SharedSubnet.String(), "-j", ChainInstance},
	}
	instance := [][]string{established("ACCEPT")}
	for _, port := range p.AllowTCP {
		instance = append(instance, tcpPort(port, "ACCEPT"))
	}
	instance = append(instance, rejectRest()...)
	betweenShared := [][]string{
		{"-i", p.SharedBridge, "-o", p.SharedBridge, "-j", ChainShared},
		{"-s", p.SharedSubnet.String(), "-d", p.SharedSubnet.String(), "-j", ChainShared},
	}
	// RETURN, not ACCEPT: what passes goes on to dockerd's own chains, as it would without us.
	shared := [][]string{established("RETURN")}
	for _, port := range p.SharedTCP {
		shared = append(shared, tcpPort(port, "RETURN"))
	}
	shared = append(shared, rejectRest()...)
	return Ruleset{
		Family: IPv4,
		Chains: []Chain{
			{Name: ChainInput, Rules: fromInstance}, {Name: ChainInstance, Rules: instance},
			{Name: ChainForward, Rules: betweenShared}, {Name: ChainShared, Rules: shared},
		},
		Jumps: []Jump{{From: "INPUT", To: ChainInput}, {From: chainDockerUser, To: ChainForward, Create: true}},
	}
}

// ipv6: nothing from or to an instance bridge. The containers have IPv6 off; this holds
// should one have it anyway, and covers the container's own end of the bridges.
func (p Policy) ipv6() Ruleset {
	in := p.BridgePrefix + "+"
	return Ruleset{
		Family: IPv6,
		Chains: []Chain{
			{Name: ChainInput, Rules: [][]string{{"-i", in, "-j", "DROP"}}},
			{Name: ChainForward, Rules: [][]string{{"-i", in, "-j", "DROP"}, {"-o", in, "-j", "DROP"}}},
		},
		Jumps: []Jump{{From: "INPUT", To: ChainInput}, {From: "FORWARD", To: ChainForward}},
	}
}

func established(target string) []string {
	return []string{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", target}
}

func tcpPort(port int, target string) []string {
	return []string{"-p", "tcp", "-m", "tcp", "--dport", strconv.Itoa(port), "-j", target}
}

// rejectRest refuses at once (a reset, or ICMP port unreachable) rather than dropping: a
// site's PHP that tries a closed port learns so now, instead of after its own timeout.
func rejectRest() [][]string {
	return [][]string{
		{"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"},
	}
}

// Restore is the iptables-restore --noflush input that replaces the chains of r: each is
// created, or flushed when it exists, then filled, in one commit.
func (r Ruleset) Restore() string {
	var b strings.Builder
	b.WriteString("*filter\n")
	for _, c := range r.Chains {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c.Name)
	}
	for _, c := range r.Chains {
		for _, rule := range c.Rules {
			fmt.Fprintf(&b, "-A %s %s\n", c.Name, strings.Join(rule, " "))
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// Count is the number of rules of r's chains.
func (r Ruleset) Count() int {
	n := 0
	for _, c := range r.Chains {
		n += len(c.Rules)
	}
	return n
}

package instance

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Addressing places the instances on the engine's networks: instance N is on the network
// NetworkPrefix+N, the Nth /24 of Subnets (gateway .1, the wp-dind container itself where
// MailDev listens; database .2, PHP .3, web server .4), and the instances that ask for it
// also join SharedNetwork on SharedSubnet. Instance computes it; the reconciler, the
// container specs, the compose export, the status and phpMyAdmin's server list all use it.
// The networks' Linux bridges are BridgePrefix+N and BridgePrefix+"shared", which the
// wp-dind firewall matches; an empty BridgePrefix lets dockerd name them (br-ID), as the
// tests on a shared engine do.
type Addressing struct {
	NetworkPrefix string
	Subnets       netip.Prefix // a /16 or larger: room for MaxInstanceID /24s
	SharedNetwork string
	SharedSubnet  netip.Prefix
	BridgePrefix  string
}

// NewAddressing is the addressing of wpinit.toml's [instances] table.
func NewAddressing(c *config.Instances) Addressing {
	return Addressing{
		NetworkPrefix: c.NetworkPrefix, Subnets: c.Subnets.P(),
		SharedNetwork: c.SharedNetwork, SharedSubnet: c.SharedSubnet.P(), BridgePrefix: c.BridgePrefix,
	}
}

// Network is one instance's network.
type Network struct {
	Name   string
	Subnet netip.Prefix // a /24
	Bridge string       // its Linux bridge, "" for dockerd's choice
}

// Instance returns the network of instance id. A zero Addressing gives a network without
// addresses (the reconciler refuses such options).
func (a Addressing) Instance(id int) Network {
	n := Network{Name: a.NetworkPrefix + strconv.Itoa(id)}
	if a.BridgePrefix != "" {
		n.Bridge = a.BridgePrefix + strconv.Itoa(id)
	}
	if !a.Subnets.Addr().Is4() {
		return n
	}
	base := a.Subnets.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(base[:]) + uint32(id)<<8
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	n.Subnet = netip.PrefixFrom(netip.AddrFrom4(b), 24)
	return n
}

// SharedBridge is the shared network's Linux bridge, "" for dockerd's choice.
func (a Addressing) SharedBridge() string {
	if a.BridgePrefix == "" {
		return ""
	}
	return a.BridgePrefix + "shared"
}

var hostByRole = map[Role]byte{RoleDB: 2, RolePHP: 3, RoleWeb: 4}

// Gateway is the network's .1: the wp-dind container itself.
func (n Network) Gateway() string { return n.host(1) }

// IP is the static address of role's container on the network.
func (n Network) IP(r Role) string { return n.host(hostByRole[r]) }

func (n Network) host(last byte) string {
	if !n.Subnet.Addr().Is4() {
		return ""
	}
	b := n.Subnet.Addr().As4()
	b[3] = last
	return netip.AddrFrom4(b).String()
}

package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// wpDind is the policy of wp-dind's defaults: SMTP and Xdebug to the container, web between
// shared instances.
var wpDind = Policy{
	BridgePrefix: "wpbr", SharedBridge: "wpbrshared",
	Subnets: netip.MustParsePrefix("172.20.0.0/16"), SharedSubnet: netip.MustParsePrefix("172.21.0.0/16"),
	AllowTCP: []int{1025, 9003}, SharedTCP: []int{80},
}

// wpDindRestore is what iptables-restore gets for wpDind, rule by rule.
var wpDindRestore = map[Family]string{
	IPv4: `*filter
:WPDIND-INPUT - [0:0]
:WPDIND-INSTANCE - [0:0]
:WPDIND-FORWARD - [0:0]
:WPDIND-SHARED - [0:0]
-A WPDIND-INPUT -i lo -j RETURN
-A WPDIND-INPUT -i wpbr+ -j WPDIND-INSTANCE
-A WPDIND-INPUT -s 172.20.0.0/16 -j WPDIND-INSTANCE
-A WPDIND-INPUT -s 172.21.0.0/16 -j WPDIND-INSTANCE
-A WPDIND-INSTANCE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A WPDIND-INSTANCE -p tcp -m tcp --dport 1025 -j ACCEPT
-A WPDIND-INSTANCE -p tcp -m tcp --dport 9003 -j ACCEPT
-A WPDIND-INSTANCE -p tcp -j REJECT --reject-with tcp-reset
-A WPDIND-INSTANCE -j REJECT --reject-with icmp-port-unreachable
-A WPDIND-FORWARD -i wpbrshared -o wpbrshared -j WPDIND-SHARED
-A WPDIND-FORWARD -s 172.21.0.0/16 -d 172.21.0.0/16 -j WPDIND-SHARED
-A WPDIND-SHARED -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A WPDIND-SHARED -p tcp -m tcp --dport 80 -j RETURN
-A WPDIND-SHARED -p tcp -j REJECT --reject-with tcp-reset
-A WPDIND-SHARED -j REJECT --reject-with icmp-port-unreachable
COMMIT
`,
	IPv6: `*filter
:WPDIND-INPUT - [0:0]
:WPDIND-FORWARD - [0:0]
-A WPDIND-INPUT -i wpbr+ -j DROP
-A WPDIND-FORWARD -i wpbr+ -j DROP
-A WPDIND-FORWARD -o wpbr+ -j DROP
COMMIT
`,
}

func TestPlan(t *testing.T) {
	other := wpDind
	other.BridgePrefix, other.SharedBridge, other.AllowTCP, other.SharedTCP = "t1", "t1shared", nil, nil
	other.Subnets, other.SharedSubnet = netip.MustParsePrefix("10.140.0.0/16"), netip.MustParsePrefix("10.141.0.0/24")
	tests := []struct {
		name   string
		policy Policy
		// every line of want4/want6 is in the family's restore input; none of absent is
		want4, want6, absent []string
		jumps                map[Family][]Jump
	}{
		{name: "wp-dind defaults", policy: wpDind,
			want4: strings.Split(strings.TrimSpace(wpDindRestore[IPv4]), "\n"),
			want6: strings.Split(strings.TrimSpace(wpDindRestore[IPv6]), "\n"),
			jumps: map[Family][]Jump{
				IPv4: {{From: "INPUT", To: ChainInput}, {From: "DOCKER-USER", To: ChainForward, Create: true}},
				IPv6: {{From: "INPUT", To: ChainInput}, {From: "FORWARD", To: ChainForward}},
			}},
		{name: "other prefix and subnets, no port open", policy: other,
			want4: []string{
				"-A WPDIND-INPUT -i t1+ -j WPDIND-INSTANCE", "-A WPDIND-INPUT -s 10.140.0.0/16 -j WPDIND-INSTANCE",
				"-A WPDIND-FORWARD -i t1shared -o t1shared -j WPDIND-SHARED",
				"-A WPDIND-FORWARD -s 10.141.0.0/24 -d 10.141.0.0/24 -j WPDIND-SHARED",
				"-A WPDIND-INSTANCE -p tcp -j REJECT --reject-with tcp-reset",
			},
			want6:  []string{"-A WPDIND-INPUT -i t1+ -j DROP", "-A WPDIND-FORWARD -o t1+ -j DROP"},
			absent: []string{"--dport", "wpbr", "172.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sets, err := Plan(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if len(sets) != 2 || sets[0].Family != IPv4 || sets[1].Family != IPv6 {
				t.Fatalf("rule sets %+v, want IPv4 then IPv6", sets)
			}
			for _, s := range sets {
				restore := s.Restore()
				want := map[Family][]string{IPv4: tt.want4, IPv6: tt.want6}[s.Family]
				for _, line := range want {
					if !strings.Contains(restore, line+"\n") {
						t.Errorf("%s: no line %q in\n%s", s.Family, line, restore)
					}
				}
				for _, a := range tt.absent {
					if strings.Contains(restore, a) {
						t.Errorf("%s: %q in\n%s", s.Family, a, restore)
					}
				}
				if tt.jumps != nil && !slices.Equal(s.Jumps, tt.jumps[s.Family]) {
					t.Errorf("%s jumps %+v, want %+v", s.Family, s.Jumps, tt.jumps[s.Family])
				}
			}
		})
	}
}

// TestPlanWholeRestore: the defaults' restore input, whole: the order of the rules is the
// policy (replies first, the open ports, then the refusal).
func TestPlanWholeRestore(t *testing.T) {
	sets, err := Plan(wpDind)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if got := s.Restore(); got != wpDindRestore[s.Family] {
			t.Errorf("%s restore input:\n%s\nwant:\n%s", s.Family, got, wpDindRestore[s.Family])
		}
	}
	if n := sets[0].Count(); n != 15 {
		t.Errorf("IPv4: %d rules, want 15", n)
	}
}

func TestPlanRefusesBadPolicy(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Policy)
		want string
	}{
		{"no prefix", func(p *Policy) { p.BridgePrefix = "" }, `bridge prefix ""`},
		{"prefix too long", func(p *Policy) { p.BridgePrefix, p.SharedBridge = "wpbridge12", "wpbridge12s" }, "bridge prefix"},
		{"shared bridge of another prefix", func(p *Policy) { p.SharedBridge = "br-shared" }, `shared bridge "br-shared"`},
		{"shared bridge too long", func(p *Policy) { p.SharedBridge = "wpbrsharedshared" }, "at most 15"},
		{"no subnet", func(p *Policy) { p.Subnets = netip.Prefix{} }, "want an IPv4 network"},
		{"IPv6 subnet", func(p *Policy) { p.SharedSubnet = netip.MustParsePrefix("fd00::/64") }, "want an IPv4 network"},
		{"port 0", func(p *Policy) { p.AllowTCP = []int{0} }, "port 0"},
		{"port too big", func(p *Policy) { p.SharedTCP = []int{70000} }, "port 70000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := wpDind
			tt.edit(&p)
			if _, err := Plan(p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/firewall"
)

// TestFirewallPolicy: wpinit.toml's [instances] makes the firewall's policy: its bridges and
// subnets, SMTP and Xdebug open on the container, web between shared instances.
func TestFirewallPolicy(t *testing.T) {
	c := config.DefaultInstances()
	p := firewallPolicy(&c)
	if p.BridgePrefix != "wpbr" || p.SharedBridge != "wpbrshared" || p.Subnets.String() != "172.20.0.0/16" || p.SharedSubnet.String() != "172.21.0.0/16" {
		t.Errorf("policy networks: %+v", p)
	}
	if !slices.Equal(p.AllowTCP, []int{1025, 9003}) || !slices.Equal(p.SharedTCP, []int{80}) {
		t.Errorf("policy ports: to the container %v, between shared instances %v", p.AllowTCP, p.SharedTCP)
	}
	c.BridgePrefix = "abcdefghi" // the longest bridge_prefix the config accepts
	if _, err := firewall.Plan(firewallPolicy(&c)); err != nil {
		t.Errorf("a valid [instances] makes an invalid policy: %v", err)
	}
}

// TestFirewallRulesDocumented: docs/operations.md shows the rules of the default [instances]
// as wpinit installs them, line by line.
func TestFirewallRulesDocumented(t *testing.T) {
	c := config.DefaultInstances()
	sets, err := firewall.Plan(firewallPolicy(&c))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		block := "   " + strings.ReplaceAll(strings.TrimSpace(s.Restore()), "\n", "\n   ") + "\n"
		if !strings.Contains(string(doc), block) {
			t.Errorf("docs/operations.md lacks the %s rules as the code has them:\n%s", s.Family, block)
		}
	}
}

package sysinit

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/firewall"
)

// firewallRules is the wp-dind policy's rule sets.
func firewallRules(t *testing.T) []firewall.Ruleset {
	t.Helper()
	sets, err := firewall.Plan(firewall.Policy{
		BridgePrefix: "wpbr", SharedBridge: "wpbrshared", Subnets: netip.MustParsePrefix("172.20.0.0/16"),
		SharedSubnet: netip.MustParsePrefix("172.21.0.0/16"), AllowTCP: []int{1025, 9003}, SharedTCP: []int{80},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// procWithBridgeFilter is a /proc with the br_netfilter sysctls, off.
func procWithBridgeFilter(t *testing.T) string {
	t.Helper()
	proc := t.TempDir()
	dir := filepath.Join(proc, "sys", "net", "bridge")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return proc
}

// TestFirewallStep: the step applies the rules with the chosen backend's tools through the
// Runner; an IPv4 failure fails it (the boot stops), an IPv6 one or a kernel without
// br_netfilter is a warning, and no backend at all a warning; no rules: not configured.
func TestFirewallStep(t *testing.T) {
	choice := IptablesChoice{Backend: BackendNFT, BinDir: "/run/wp-dind/iptables"}
	failing := func(tool string) Runner {
		return func(_ context.Context, name string, args ...string) error {
			if !strings.HasPrefix(name, choice.BinDir+"/") {
				t.Errorf("ran %s, not a tool of %s", name, choice.BinDir)
			}
			if filepath.Base(name) == tool || (len(args) > 2 && args[2] == "-n") {
				return errors.New("exit status 1") // DOCKER-USER does not exist yet
			}
			return nil
		}
	}
	tests := []struct {
		name    string
		opts    Options
		choice  IptablesChoice
		outcome Outcome
		detail  string
	}{
		{"applied", Options{Firewall: firewallRules(t), Run: failing(""), ProcDir: procWithBridgeFilter(t)}, choice, Done, "18 rules in WPDIND-INPUT, WPDIND-FORWARD (nft)"},
		{"IPv4 fails", Options{Firewall: firewallRules(t), Run: failing("iptables-restore"), ProcDir: procWithBridgeFilter(t)}, choice, Failed, ""},
		{"IPv6 fails", Options{Firewall: firewallRules(t), Run: failing("ip6tables-restore"), ProcDir: procWithBridgeFilter(t)}, choice, Warning, "15 rules"},
		{"no br_netfilter", Options{Firewall: firewallRules(t), Run: failing(""), ProcDir: t.TempDir()}, choice, Warning, "18 rules"},
		{"no backend", Options{Firewall: firewallRules(t), Run: failing("")}, IptablesChoice{}, Warning, ""},
		{"no rules", Options{Run: failing("")}, choice, Skipped, notConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := applyFirewall(context.Background(), tt.opts, tt.choice)
			if res.Outcome != tt.outcome || !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("%s %q (%v), want %s %q", res.Outcome, res.Detail, res.err, tt.outcome, tt.detail)
			}
			if (res.Outcome == Failed || res.Outcome == Warning) != (res.err != nil) {
				t.Errorf("outcome %s with error %v", res.Outcome, res.err)
			}
		})
	}
}

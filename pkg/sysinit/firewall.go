package sysinit

import (
	"context"
	"errors"
	"fmt"

	"github.com/wp-dind/wp-dind/pkg/firewall"
)

const stepFirewall = "instance-firewall"

// applyFirewall installs the instances' firewall (Options.Firewall) with the chosen iptables
// backend before dockerd starts, so that the instance containers dockerd brings back at its
// start never run without it. An IPv4 rule that does not apply stops the boot (the
// instances must not run open); the IPv6 part and the bridge filter sysctls are warnings
// (the instance networks have no IPv6; without br_netfilter the shared network's own rule
// sees nothing, and PHP-FPM's allowed clients still hold there). Without any iptables backend
// dockerd runs without iptables and the instances are not firewalled: a warning.
func applyFirewall(ctx context.Context, opts Options, choice IptablesChoice) stepResult {
	if len(opts.Firewall) == 0 {
		return result(stepFirewall, Skipped, notConfigured)
	}
	if choice.BinDir == "" {
		return failure(stepFirewall, Warning, errors.New("no iptables backend: the instances are not firewalled"))
	}
	tools := firewall.Tools{Run: firewall.Runner(opts.Run), BinDir: choice.BinDir}
	var warns []error
	rules := 0
	for _, set := range opts.Firewall {
		err := firewall.Apply(ctx, tools, []firewall.Ruleset{set})
		switch {
		case err != nil && set.Family == firewall.IPv4:
			return failure(stepFirewall, Failed, err)
		case err != nil:
			warns = append(warns, err)
		default:
			rules += set.Count()
		}
	}
	if err := firewall.EnableBridgeFilter(opts.ProcDir); err != nil {
		warns = append(warns, err)
	}
	detail := fmt.Sprintf("%d rules in %s, %s (%s)", rules, firewall.ChainInput, firewall.ChainForward, choice.Backend)
	if len(warns) > 0 {
		err := errors.Join(warns...)
		return stepResult{Step: Step{Name: stepFirewall, Outcome: Warning, Detail: detail, Error: err.Error()}, err: err}
	}
	return result(stepFirewall, Done, detail)
}

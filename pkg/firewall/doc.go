// Package firewall keeps the WordPress instances away from what else runs in the wp-dind
// container and from each other (docs/operations.md, "Isolation"). Plan turns a Policy
// into rule sets, purely; Apply installs them with the iptables backend sysinit chose;
// Guard applies them again each time dockerd is back after a restart.
//
// What an instance container may open towards the wp-dind container itself (its gateway,
// another network's gateway, eth0's address, docker0's: any local address) is a short list of
// TCP ports (MailDev's SMTP, the Xdebug client port); everything else it sends there is
// rejected, replies to connections the container opened excepted. Between the containers of
// the shared network only TCP port 80 passes. The rules match the packets that come in on an
// instance bridge (named BridgePrefix+N, so one "-i PREFIX+" covers every network, those made
// later too) or that carry an instance address (networks made before they had bridge names).
// IPv6 from the instance bridges is dropped whole: the instance networks are IPv4 only.
//
// Invariants: Plan does no I/O; Apply is idempotent and replaces wpinit's own chains whole and
// atomically (iptables-restore --noflush), and keeps one jump to them first in the chains it
// shares with dockerd (INPUT, DOCKER-USER, IPv6's FORWARD), whose other rules it never
// touches. No rule depends on a network or a container, so none is left behind when one goes.
package firewall

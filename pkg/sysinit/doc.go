// Package sysinit prepares the wp-dind container for a nested dockerd, natively: what moby's
// hack/dind and docker:dind's dockerd-entrypoint.sh do in shell, done here with
// golang.org/x/sys/unix and no scripts.
//
// Prepare runs, in order: refuse a data root on overlayfs (dockerd would silently fall back to
// vfs), cgroup v2 nesting (move every process of the root group into an "init" child and enable
// the available controllers for children), securityfs at /sys/kernel/security, rshared mount
// propagation on /, removal of stale pid files left by a previous run of the same container,
// the dockerd config (render dockerd's effective daemon.json from the image's base file, with
// the engine's TCP API added only when asked for, and TLS client verification when given
// certificates), the choice of the iptables backend (nft or legacy), and with it the
// instances' firewall (pkg/firewall), in place before dockerd brings back any container.
//
// Invariants: every step is idempotent (a second Prepare finds the work done and reports it
// skipped, or rewrites the same daemon.json), every path comes from Options (a zero Options
// but its Run touches nothing, so tests point each step at fixtures), and sysinit never waits
// for a child itself: external commands (only the iptables probes) go through Options.Run,
// which init/ routes through its reaper. Run is required: Prepare refuses nil (ErrNoRunner)
// before any step, since a command waited for by os/exec would lose its status to wpinit's
// wait4(-1) reaper.
package sysinit

// Package sysinit prepares the wp-dind container for a nested dockerd, natively: what moby's
// hack/dind and docker:dind's dockerd-entrypoint.sh do in shell, done here with
// golang.org/x/sys/unix and no scripts.
//
// Prepare runs, in order: refuse a data root on overlayfs (dockerd would silently fall back to
// vfs), cgroup v2 nesting (move every process of the root group into an "init" child and enable
// the available controllers for children), securityfs at /sys/kernel/security, rshared mount
// propagation on /, removal of stale pid files left by a previous run of the same container,
// and the choice of the iptables backend (nft or legacy).
//
// Invariants: every step is idempotent (a second Prepare finds the work done and reports it
// skipped), every path comes from Options (a zero Options touches nothing, so tests point each
// step at fixtures), and sysinit never waits for a child itself: external commands (only the
// iptables probes) go through Options.Run, which init/ routes through its reaper.
package sysinit

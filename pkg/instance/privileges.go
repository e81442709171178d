package instance

import "slices"

// What confines an instance's container besides its network (docs/instances.md,
// "Isolation"): a pids limit (the instance's limits), every capability dropped but the few
// its role needs, and no-new-privileges. IPv6 is not theirs: the networks have none, dockerd
// (26 and later) turns it off on their interfaces, and the firewall drops any from the
// instance bridges.

// roleCaps are the capabilities each role's container keeps; every other one is dropped,
// Docker's default set included (NET_RAW, MKNOD, SETFCAP, SETPCAP, SYS_CHROOT, AUDIT_WRITE,
// FSETID). Found by running each image with one fewer (images/e2e_isolation_test.go runs
// them all): the entrypoints run as root and chown the log and data folders to the service
// user (CHOWN), then write into them (DAC_OVERRIDE); the database's first start unpacks its
// data directory and PHP's seeds the document root, keeping modes and times on files of
// another user (FOWNER); every server starts as root and switches to its user (SETUID,
// SETGID); PHP-FPM's and the web servers' masters signal their workers of another user on
// a stop or a reload, and the database entrypoint checks its init server with kill -0 (KILL);
// the web server binds port 80 (NET_BIND_SERVICE: engines since 20.10 lower the unprivileged
// port start inside containers, other engines running the compose export may not).
var roleCaps = map[Role][]string{
	RoleDB:  {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"},
	RolePHP: {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"},
	RoleWeb: {"CHOWN", "DAC_OVERRIDE", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"},
}

// Capabilities returns the capabilities role's container keeps (a copy).
func Capabilities(r Role) []string { return slices.Clone(roleCaps[r]) }

// Every instance container drops all capabilities before adding its role's, and may gain no
// privilege by exec (a setuid binary, file capabilities).
var (
	capDrop     = []string{"ALL"}
	securityOpt = []string{"no-new-privileges"}
)

// confine sets c's privileges for its role and its pids limit.
func (c *ContainerSpec) confine(pids int64) {
	c.Pids = pids
	c.CapDrop, c.CapAdd = slices.Clone(capDrop), Capabilities(c.Role)
	c.SecurityOpt = slices.Clone(securityOpt)
}

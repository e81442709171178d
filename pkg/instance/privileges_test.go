package instance

import (
	"slices"
	"testing"
)

// TestContainersConfined: every container drops all capabilities but its role's, gains no
// privilege by exec and has its pids limit; PHP-FPM admits its own web server only.
func TestContainersConfined(t *testing.T) {
	d := mustPrepare(t, t.TempDir(), testInstance(t, "limits.php = { pids = 100 }\n")).Def
	want := map[Role]struct {
		pids int64
		caps []string
	}{
		RoleDB:  {512, []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"}},
		RolePHP: {100, []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"}},
		RoleWeb: {256, []string{"CHOWN", "DAC_OVERRIDE", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"}},
	}
	for _, r := range Roles {
		c, w := d.Container(r), want[r]
		if c.Pids != w.pids || !slices.Equal(c.CapAdd, w.caps) || !slices.Equal(c.CapDrop, []string{"ALL"}) {
			t.Errorf("%s: pids %d, drop %v, add %v; want %d, [ALL], %v", r, c.Pids, c.CapDrop, c.CapAdd, w.pids, w.caps)
		}
		if !slices.Equal(c.SecurityOpt, []string{"no-new-privileges"}) {
			t.Errorf("%s: security opts %v", r, c.SecurityOpt)
		}
	}
	web := testOpts.Network.Instance(7).IP(RoleWeb)
	if got := envOf(d.Container(RolePHP), "PHP_FPM_ALLOWED_CLIENTS"); got != web {
		t.Errorf("PHP_FPM_ALLOWED_CLIENTS = %q, want the web server's %s", got, web)
	}
	d.Container(RoleDB).CapAdd[0] = "SYS_ADMIN"
	if Capabilities(RoleDB)[0] != "CHOWN" {
		t.Error("a spec's capabilities share the role's table")
	}
}

// TestPidsLimitInHash: a new pids limit recreates that container only.
func TestPidsLimitInHash(t *testing.T) {
	root := t.TempDir()
	a := mustPrepare(t, root, testInstance(t, "")).Def
	b := mustPrepare(t, root, testInstance(t, "limits.web = { pids = 64 }\n")).Def
	for _, r := range Roles {
		if changed := a.Container(r).Hash != b.Container(r).Hash; changed != (r == RoleWeb) {
			t.Errorf("%s hash changed=%v on a web pids change", r, changed)
		}
	}
}

func envOf(c *ContainerSpec, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

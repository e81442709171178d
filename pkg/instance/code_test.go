package instance

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// codeInstance is blog with a plugin, a theme and a mount from a projects folder of its own.
func codeInstance(t *testing.T) (*config.Instance, string) {
	t.Helper()
	projects := t.TempDir()
	for _, d := range []string{"my-plugin", "my-theme", "tools"} {
		if err := os.Mkdir(filepath.Join(projects, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"blog\"\nid = 7\nport = 8007\n"+
		"plugins = [\"my-plugin\"]\nthemes = [\"my-theme\"]\nmounts = { \"wp-content/mu-plugins/tools\" = \"tools\" }\n"), nil, defaults.Ports)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Check(config.Env{Projects: projects}); err != nil {
		t.Fatal(err)
	}
	return &cfg.Instances[0], projects
}

// TestCodeMountedReadOnly: the code is mounted read-only in PHP and web, not in the
// database; it is in the hash (a change recreates the two containers); PHP maps
// host.docker.internal to its gateway.
func TestCodeMountedReadOnly(t *testing.T) {
	in, projects := codeInstance(t)
	root := t.TempDir()
	plain := mustPrepare(t, root, testInstance(t, ""))
	p := mustPrepare(t, root, in)
	want := []Mount{
		{Source: filepath.Join(projects, "my-plugin"), Target: "/var/www/html/wp-content/plugins/my-plugin", ReadOnly: true},
		{Source: filepath.Join(projects, "my-theme"), Target: "/var/www/html/wp-content/themes/my-theme", ReadOnly: true},
		{Source: filepath.Join(projects, "tools"), Target: "/var/www/html/wp-content/mu-plugins/tools", ReadOnly: true},
	}
	for _, r := range Roles {
		c := p.Def.Container(r)
		for _, m := range want {
			if has := slices.Contains(c.Mounts, m); has != (r != RoleDB) {
				t.Errorf("%s mounts %s: %v", r, m.Target, has)
			}
		}
	}
	if hosts := p.Def.Container(RolePHP).ExtraHosts; !slices.Equal(hosts, []string{"host.docker.internal:172.20.7.1"}) {
		t.Errorf("php extra hosts = %v", hosts)
	}
	for _, r := range Roles {
		if changed := plain.Def.Container(r).Hash != p.Def.Container(r).Hash; changed != (r != RoleDB) {
			t.Errorf("%s hash changed by the code: %v", r, changed)
		}
	}
}

func TestPathMappings(t *testing.T) {
	in, projects := codeInstance(t)
	got := PathMappings(in, HostPaths{Root: "/wordpress-instances", HostRoot: "/home/dev/wp/wordpress-instances",
		Projects: projects, HostProjects: "/home/dev/code"})
	want := []PathMapping{
		{"/home/dev/code/my-plugin", "/var/www/html/wp-content/plugins/my-plugin"},
		{"/home/dev/code/my-theme", "/var/www/html/wp-content/themes/my-theme"},
		{"/home/dev/code/tools", "/var/www/html/wp-content/mu-plugins/tools"},
		{"/home/dev/wp/wordpress-instances/blog/data/wordpress", "/var/www/html"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("mappings = %v\nwant %v", got, want)
	}
	got = PathMappings(in, HostPaths{Root: "/wordpress-instances", Projects: projects})
	if got[3].Host != "/wordpress-instances/blog/data/wordpress" || got[0].Host != filepath.Join(projects, "my-plugin") {
		t.Errorf("without host paths: %v", got)
	}
}

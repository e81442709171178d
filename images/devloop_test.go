package images_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// The developer's loop on the real product (make devloop-test): a wp-dind of its own whose
// projects folder holds a plugin, a theme and a mu-plugin file, whose Xdebug forwarder aims
// at a listener of this test on the host side of the container, and whose sites are
// published 1:1 on free ports: "dev" runs the code with Xdebug on, "net" and "neta" are
// subdirectory networks on nginx and on Apache.
const envDevLoop = "WPDIND_DEVLOOP" // 1: run TestDevLoop (make devloop-test)

// devLoop is the test's wp-dind, its projects folder and the IDE's listener.
type devLoop struct {
	*dind
	projects string
	ide      net.Listener // where host.docker.internal:PORT leads, on the host
	dev      site
	nets     []site
}

// Files of the projects folder. The probe plugin answers ?wpd-probe with the marker of its
// inc/marker.php (edited by the test) and whether its activation hook ran.
var projectFiles = map[string]string{
	"wpd-probe/wpd-probe.php": `<?php
/**
 * Plugin Name: wp-dind probe
 */
register_activation_hook(__FILE__, function () { update_option('wpd_probe_activated', 'yes'); });
add_action('init', function () {
    if (isset($_GET['wpd-probe'])) {
        header('Content-Type: text/plain');
        echo 'probe ', require __DIR__ . '/inc/marker.php', ' activated=', get_option('wpd_probe_activated', 'no'), "\n";
        exit;
    }
});
`,
	"wpd-probe/inc/marker.php": "<?php return 'v1';\n",
	"wpd-theme/style.css":      "/*\nTheme Name: wp-dind test theme\n*/\n",
	"wpd-theme/index.php":      "<!doctype html><html><head><?php wp_head(); ?></head><body><?php bloginfo('name'); ?> wpd-theme-index</body></html>\n",
	"tools/wpd-tools.php":      "<?php\nadd_action('send_headers', function () { header('X-WPD-Tools: mounted'); });\n",
}

// devToml is instances.toml; extra goes into dev's table.
func (dl *devLoop) devToml(extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version = 1
[defaults]
admin_email = "dev@example.com"

[[instance]]
name = %q
id = %d
port = %d
title = %q
xdebug = true
plugins = ["wpd-probe"%s]
themes = ["wpd-theme"]
mounts = { "wp-content/mu-plugins/wpd-tools.php" = "tools/wpd-tools.php" }
`, dl.dev.Name, dl.dev.ID, dl.dev.Port, dl.dev.Title, extra)
	for _, s := range dl.nets {
		fmt.Fprintf(&b, "\n[[instance]]\nname = %q\nid = %d\nport = %d\ntitle = %q\nweb = %q\nmultisite = \"subdirectory\"\n", s.Name, s.ID, s.Port, s.Title, s.Web)
	}
	return b.String()
}

func newDevLoop(t *testing.T) *devLoop {
	t.Helper()
	lo := freeRange(t, 3)
	sites := []site{
		{Name: "dev", Title: "Dev loop", ID: 1, Port: lo},
		{Name: "net", Title: "Network on nginx", ID: 2, Port: lo + 1, Web: "nginx"},
		{Name: "neta", Title: "Network on Apache", ID: 3, Port: lo + 2, Web: "apache"},
	}
	dl := &devLoop{dind: newDind(t, sites), projects: t.TempDir(), dev: sites[0], nets: sites[1:]}
	setPorts(t, dl.conf, fmt.Sprintf("%d-%d", lo, lo+2))
	for rel, content := range projectFiles {
		writeProject(t, filepath.Join(dl.projects, rel), content)
	}
	if err := os.Symlink("/etc", filepath.Join(dl.projects, "escape")); err != nil {
		t.Fatal(err)
	}
	dl.writeInstances("")
	gw := hostGateway(t, dl.ref)
	var err error
	if dl.ide, err = net.Listen("tcp", gw+":0"); err != nil {
		t.Fatalf("listen where host-gateway (%s) leads: %v", gw, err)
	}
	t.Cleanup(func() { dl.ide.Close() })
	port := dl.ide.Addr().(*net.TCPAddr).Port
	opts := []string{"-v", dl.conf + ":/etc/wpinit:ro", "-v", dl.inst + ":/wordpress-instances", "-v", dl.shared + ":/shared-images:ro",
		"-v", dl.projects + ":/projects:ro", "--add-host", "host.docker.internal:host-gateway",
		"-e", fmt.Sprintf("WPINIT_XDEBUG_TARGET=host.docker.internal:%d", port),
		"-e", "WPINIT_HOST_ROOT=" + dl.inst, "-e", "WPINIT_HOST_PROJECTS=" + dl.projects}
	for _, s := range sites {
		opts = append(opts, "-p", fmt.Sprintf("127.0.0.1:%d:%d", s.Port, s.Port))
	}
	dl.id = startDind(t, dl.ref, dl.volume, opts...)
	dl.readPorts()
	t.Logf("the IDE listens on %s (host-gateway), wp-dind forwards 9003 there", dl.ide.Addr())
	return dl
}

// writeProject writes a file of the projects folder in place (an editor saving it).
func writeProject(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeInstances saves instances.toml as an editor does: a new file renamed over the old.
func (dl *devLoop) writeInstances(extra string) string {
	dl.t.Helper()
	content := dl.devToml(extra)
	tmp := filepath.Join(dl.conf, ".instances.toml.swp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		dl.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dl.conf, "instances.toml")); err != nil {
		dl.t.Fatal(err)
	}
	return content
}

// hostGateway is the address host-gateway stands for in a container of this engine: the
// host's side of the default bridge.
func hostGateway(t *testing.T, ref string) string {
	t.Helper()
	out := mustDocker(t, "run", "--rm", "--label", labelValue(t), "--add-host", "gw:host-gateway", "--entrypoint", "getent", ref, "hosts", "gw")
	f := strings.Fields(out)
	if len(f) == 0 || net.ParseIP(f[0]) == nil {
		t.Fatalf("host-gateway: %q", out)
	}
	return f[0]
}

// TestDevLoop: the code of the projects folder active and edited live, a bad path refused
// with its line while nothing changes, two subdirectory networks with a second site made in
// their network admin, Xdebug's session at the IDE (and none with Xdebug off), ctl shell and
// ctl logs.
func TestDevLoop(t *testing.T) {
	requireEnv(t, envDevLoop, "devloop-test")
	dl := newDevLoop(t)
	start := time.Now()
	dl.waitStatus("three sites up", 12*time.Minute, all(servicesReady, imagesDone, instancesUp(3)))
	t.Logf("3 sites running and healthy %.1f s after docker run", time.Since(start).Seconds())
	t.Run("code from the projects folder", dl.code)
	t.Run("a bad path is refused and changes nothing", dl.badPath)
	t.Run("subdirectory networks", dl.networks)
	t.Run("xdebug reaches the IDE", dl.xdebug)
	t.Run("ctl shell", dl.shell)
	t.Run("ctl logs", dl.logs)
}

// innerInspect is a container's ID and start time in the inner engine.
func (dl *devLoop) innerInspect(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSpace(mustDocker(t, "exec", dl.id, "docker", "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", name))
}

func (dl *devLoop) detail(t *testing.T, name string, secrets bool) ctl.InstanceDetail {
	t.Helper()
	args := []string{"exec", dl.id, "ctl", "status", name, "--json"}
	if secrets {
		args = append(args, "--show-secrets")
	}
	var d ctl.InstanceDetail
	if err := json.Unmarshal([]byte(mustDocker(t, args...)), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

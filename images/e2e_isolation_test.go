package images_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// envIsolation: 1 runs TestIsolation (make isolation-test).
const envIsolation = "WPDIND_ISOLATION"

// isolationSites are three instances on every PHP, MariaDB and web server version built
// offline; alpha and beta join the shared network.
var isolationSites = []site{
	{Name: "alpha", ID: 1, Port: 8001, Title: "Alpha shared", PHP: "8.4", DB: "11.8", Web: "nginx", WebVersion: "1.26"},
	{Name: "beta", ID: 2, Port: 8002, Title: "Beta shared", PHP: "8.2", DB: "10.11", Web: "apache", WebVersion: "2.4"},
	{Name: "gamma", ID: 3, Port: 8003, Title: "Gamma alone", PHP: "7.4", DB: "10.5", Web: "nginx", WebVersion: "1.18"},
}

// sharedSites join the shared network (shared_network = true).
var sharedSites = map[string]bool{"alpha": true, "beta": true}

// TestIsolation runs the product with three instances, two of them on the shared network, and
// the inner engine's TCP API on, and checks the isolation model of docs/operations.md: from
// each instance's PHP and web containers only their own containers, SMTP and the Xdebug port
// on the wp-dind container, and (between shared instances) the web servers on port 80 answer;
// the same after kill -9 of the inner dockerd; and a fork bomb in one instance's PHP stops at
// its pids limit while the other sites answer 200 throughout. make isolation-test runs it
// (WPDIND_ISOLATION=1).
func TestIsolation(t *testing.T) {
	requireEnv(t, envIsolation, "isolation-test")
	d := newDind(t, isolationSites)
	if err := os.WriteFile(filepath.Join(d.conf, "instances.toml"), []byte(isolationToml()), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d.start("-e", "WPINIT_DOCKER_TCP=0.0.0.0:2375")
	st, _ := d.waitStatus("instances up", 10*time.Minute, all(servicesReady, imagesDone, instancesUp(len(isolationSites))))
	if _, err := d.waitSites(isolationSites, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("three instances serving %.1f s after docker run", time.Since(start).Seconds())
	checkFirewallStep(t, st)
	x := &isolation{t: t, d: d}
	x.listenXdebug()
	x.check("first boot")
	x.killDockerd()
	x.check("after kill -9 of the inner dockerd")
	x.forkBomb(isolationSites[2], isolationSites[:2])
}

// isolationToml is instances.toml for isolationSites, the shared ones marked so.
func isolationToml() string {
	toml := tomlFor(isolationSites)
	for name := range sharedSites {
		toml = strings.Replace(toml, fmt.Sprintf("name = %q\n", name), fmt.Sprintf("name = %q\nshared_network = true\n", name), 1)
	}
	return toml
}

// checkFirewallStep: sysinit installed the instances' firewall (docs/boot.md).
func checkFirewallStep(t *testing.T, st *ctl.Status) {
	t.Helper()
	for _, s := range st.Sysinit.Steps {
		if s.Name == "instance-firewall" {
			if s.Outcome != "done" {
				t.Fatalf("sysinit step instance-firewall: %s %q %s", s.Outcome, s.Detail, s.Error)
			}
			t.Logf("sysinit: instance-firewall %s", s.Detail)
			return
		}
	}
	t.Fatalf("no instance-firewall step in the sysinit report: %+v", st.Sysinit.Steps)
}

// isolation is the state of TestIsolation's checks.
type isolation struct {
	t *testing.T
	d *dind
}

// inDind runs a command in the wp-dind container.
func (x *isolation) inDind(args ...string) string {
	x.t.Helper()
	return mustDocker(x.t, append([]string{"exec", x.d.id}, args...)...)
}

// listenXdebug stands in for the IDE: a listener on the Xdebug client port in the wp-dind
// container, where the instances' host.docker.internal leads.
func (x *isolation) listenXdebug() {
	x.t.Helper()
	mustDocker(x.t, "exec", "-d", x.d.id, "node", "-e",
		`require("net").createServer(s => { s.on("error", () => {}); s.end("xdebug\n") }).listen(9003, "0.0.0.0")`)
	if out, err := execIn(x.d.id, "", "bash", "-c", "for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/9003) 2>/dev/null && exit 0; sleep 0.1; done; exit 1"); err != nil {
		x.t.Fatalf("the Xdebug stand-in does not listen: %v %s", err, out)
	}
}

// check runs the matrix and fails the test for every probe whose outcome is not the model's.
func (x *isolation) check(when string) {
	x.t.Helper()
	m := x.matrix()
	x.t.Logf("isolation matrix, %s (open: connected; · refused; ~ no answer in 2 s; ! not what the model says):\n%s", when, m.table())
	for _, bad := range m.mismatches() {
		x.t.Errorf("%s: %s", when, bad)
	}
	x.checkJumpsFirst()
}

// checkJumpsFirst: wpinit's jumps are the first rules of INPUT and DOCKER-USER, as dockerd
// left them after its start (the firewall part puts them back in front).
func (x *isolation) checkJumpsFirst() {
	x.t.Helper()
	for chain, jump := range map[string]string{"INPUT": "WPDIND-INPUT", "DOCKER-USER": "WPDIND-FORWARD"} {
		rules := strings.Split(x.inDind("/run/wp-dind/iptables/iptables", "-S", chain), "\n")
		if len(rules) < 2 || rules[1] != "-A "+chain+" -j "+jump {
			x.t.Errorf("%s does not start with the jump to %s: %q", chain, jump, rules)
		}
	}
}

// killDockerd: kill -9 of the inner dockerd; the supervisor starts it again, the instances
// come back, and the firewall part applies the rules again once dockerd answers.
func (x *isolation) killDockerd() {
	t, d := x.t, x.d
	st, err := d.status()
	if err != nil {
		t.Fatal(err)
	}
	before := service(st, "dockerd")
	x.inDind("kill", "-9", fmt.Sprint(before.Pid))
	start := time.Now()
	d.waitStatus("dockerd restarted", 2*time.Minute, func(st *ctl.Status) error {
		if s := service(st, "dockerd"); s.Pid == before.Pid || !s.Ready {
			return fmt.Errorf("dockerd pid %d ready %v (before: %d)", s.Pid, s.Ready, before.Pid)
		}
		return nil
	})
	d.waitStatus("instances up again", 5*time.Minute, instancesUp(len(isolationSites)))
	if _, err := d.waitSites(isolationSites, 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("the three sites serve again %.1f s after kill -9 dockerd", time.Since(start).Seconds())
	if err := waitLog(d.id, `reason="dockerd restarted"`, time.Minute); err != nil {
		t.Errorf("the firewall part did not apply the rules after the restart: %v", err)
	}
}

// waitLog waits until wpinit's log (the container's stderr) has a firewall line with want.
func waitLog(id, want string, timeout time.Duration) error {
	err := testutil.PollEvery(timeout, pollDocker, func() bool {
		out, _ := exec.Command("docker", "logs", id).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "instances' firewall in place") && strings.Contains(l, want) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("no log line \"instances' firewall in place\" with %s in %s", want, timeout)
	}
	return nil
}

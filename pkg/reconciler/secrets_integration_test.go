package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// TestInstallSecretsIntegration: while an instance installs, the host's `ps -eo args` and the
// `docker inspect` of its PHP container, polled every 50 ms, the engine's events for that
// container (exec_start carries the command line) and its record of each exec they name
// (with the arguments) never hold the WordPress admin password; the process lists caught the
// install running, and the records hold its exec.
func TestInstallSecretsIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 1, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	name := w.instance("pw")
	writeFileAtomic(t, w.file, fmt.Sprintf("version = 1\n[[instance]]\nname = %q\nid = 1\nport = %d\n", name, w.ports[0]))
	p := &poller{api: engineHTTP(t), php: instance.ContainerName(name, instance.RolePHP)}
	var events strings.Builder // exec_start events carry the command line too, and the exec's ID
	watch := exec.Command("docker", "events", "--format", "{{json .}}", "--filter", "container="+p.php)
	watch.Stdout = &events
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() { defer close(polled); p.run(ctx, 50*time.Millisecond) }()
	r := startReconciler(t, w.eng, w.opt)
	waitRunning(t, r, name)
	cancel()
	<-polled
	_ = watch.Process.Kill()
	_ = watch.Wait()

	secrets, err := instance.ReadSecrets(instance.Layout{Root: w.root, Name: name})
	if err != nil || len(secrets.AdminPassword) < 12 {
		t.Fatalf("secrets: %v (admin password of %d characters)", err, len(secrets.AdminPassword))
	}
	pw := secrets.AdminPassword
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.installSeen == 0 {
		t.Fatalf("no ps snapshot of %d caught the install (install.php): the poll proves nothing", p.ps)
	}
	execs, installs := p.execRecords(t, events.String())
	if installs == 0 {
		t.Errorf("no exec of wp-dind-install among the container's %d execs:\n%s", len(execs), events.String())
	}
	snapshots := map[string][]string{"ps -eo args": p.psOut, "docker inspect": p.inspectOut, "exec records": execs, "docker events": {events.String()}}
	for where, snaps := range snapshots {
		for _, s := range snaps {
			if line := lineWith(s, pw); line != "" {
				t.Errorf("the admin password is in %s: %s", where, strings.ReplaceAll(line, pw, "<PASSWORD>"))
				break
			}
		}
	}
	t.Logf("looked at %d process lists (%d during the install), %d inspects of %s, the records of its %d execs (%d of wp-dind-install) and its events",
		p.ps, p.installSeen, p.inspects, p.php, len(execs), installs)
}

// lineWith returns the first line of s holding sub, cut to 150 characters around it, or "".
func lineWith(s, sub string) string {
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, sub); i >= 0 {
			return line[max(0, i-150):min(len(line), i+len(sub)+150)]
		}
	}
	return ""
}

// engineHTTP is a plain HTTP client of the engine's unix socket, for what the Docker client
// does not return: an exec's record holds its arguments (ProcessConfig), as dockerd keeps them.
func engineHTTP(t *testing.T) *http.Client {
	t.Helper()
	sock := "/var/run/docker.sock"
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		var ok bool
		if sock, ok = strings.CutPrefix(host, "unix://"); !ok {
			t.Fatalf("DOCKER_HOST %q: this test reads the engine's unix socket", host)
		}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

// poller takes the host's process list and the PHP container's inspect every interval,
// keeping every distinct snapshot.
type poller struct {
	api *http.Client
	php string

	mu          sync.Mutex
	ps          int // process lists taken
	installSeen int // of which with install.php running
	inspects    int // container inspects taken
	psOut       []string
	inspectOut  []string
	seen        map[string]bool
}

// run polls the process list and the container side by side, each every interval, until
// ctx ends.
func (p *poller) run(ctx context.Context, every time.Duration) {
	p.seen = map[string]bool{}
	var wg sync.WaitGroup
	for _, poll := range []func(context.Context){p.processes, p.container} {
		wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for ctx.Err() == nil {
				poll(ctx)
				select {
				case <-ctx.Done():
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
}

func (p *poller) processes(context.Context) {
	ps, _ := exec.Command("ps", "-eo", "args").Output()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ps++
	if strings.Contains(string(ps), "/usr/local/lib/wp-dind/install.php") {
		p.installSeen++
	}
	p.keep(&p.psOut, string(ps))
}

func (p *poller) container(ctx context.Context) {
	inspect, _ := exec.Command("docker", "inspect", p.php).Output()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inspects++
	p.keep(&p.inspectOut, string(inspect))
}

// execRecords reads the engine's record of every exec the events name (dockerd keeps them a
// while after they end, with their arguments) and counts those of wp-dind-install.
func (p *poller) execRecords(t *testing.T, events string) (records []string, installs int) {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		var ev struct {
			Actor struct{ Attributes map[string]string }
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		id := ev.Actor.Attributes["execID"]
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		body := p.get(context.Background(), "/exec/"+id+"/json")
		if body == "" {
			t.Errorf("no record of exec %s", id)
			continue
		}
		records = append(records, body)
		var rec struct{ ProcessConfig struct{ Entrypoint string } }
		if json.Unmarshal([]byte(body), &rec) == nil && rec.ProcessConfig.Entrypoint == "wp-dind-install" {
			installs++
		}
	}
	return records, installs
}

// get is the body of an engine API answer, "" on any error.
func (p *poller) get(ctx context.Context, path string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return ""
	}
	resp, err := p.api.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(body)
}

func (p *poller) keep(list *[]string, s string) {
	if s != "" && !p.seen[s] {
		p.seen[s] = true
		*list = append(*list, s)
	}
}

package docker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

func TestHealthOf(t *testing.T) {
	for status, want := range map[string]string{
		"Up 3 minutes (healthy)":          "healthy",
		"Up 3 seconds (health: starting)": "starting",
		"Up 1 hour (unhealthy)":           "unhealthy",
		"Up 1 hour":                       "",
		"Exited (0) 2 minutes ago":        "",
	} {
		if got := healthOf(status); got != want {
			t.Errorf("healthOf(%q) = %q, want %q", status, got, want)
		}
	}
}

func TestEventOf(t *testing.T) {
	attrs := map[string]string{LabelInstance: "blog", LabelRole: "db", "name": "blog-db"}
	for action, want := range map[string]Event{
		"die":                      {Action: "die"},
		"start":                    {Action: ActionStart},
		"health_status: healthy":   {Action: ActionHealthStatus, Health: "healthy"},
		"health_status: unhealthy": {Action: ActionHealthStatus, Health: "unhealthy"},
		"exec_start: sh -c x":      {Action: "exec_start: sh -c x"},
	} {
		want.ContainerID, want.Name, want.Instance, want.Role = "c1", "blog-db", "blog", "db"
		got := eventOf(events.Message{Action: events.Action(action), Actor: events.Actor{ID: "c1", Attributes: attrs}})
		if got != want {
			t.Errorf("eventOf(%q) = %+v, want %+v", action, got, want)
		}
	}
}

// TestContainerOf: a list entry keeps its networks (sorted) and the host ports it publishes,
// once each (a port published on IPv4 and IPv6 is listed twice).
func TestContainerOf(t *testing.T) {
	s := container.Summary{ID: "c1", Names: []string{"/blog-web"}, State: "running", Status: "Up 1 hour (healthy)",
		Ports:           []container.PortSummary{{PrivatePort: 80, PublicPort: 8003}, {PrivatePort: 80, PublicPort: 8003}, {PrivatePort: 9000}},
		NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"wp-shared": {}, "wp-network-3": {}}}}
	got := containerOf(s)
	want := Container{ID: "c1", Name: "blog-web", State: "running", Health: "healthy",
		Networks: []string{"wp-network-3", "wp-shared"}, HostPorts: []int{8003}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("containerOf = %+v, want %+v", got, want)
	}
}

// TestAddressInUse: the daemon's two messages for an address another endpoint holds are
// recognised; other failures are not.
func TestAddressInUse(t *testing.T) {
	for msg, want := range map[string]bool{
		"Error response from daemon: Address already in use":                                                       true,
		"driver failed programming external connectivity: Bind for 0.0.0.0:8003 failed: port is already allocated": true,
		"Error response from daemon: No such container: x":                                                         false,
	} {
		if got := addressInUse(errors.New(msg)); got != want {
			t.Errorf("addressInUse(%q) = %v, want %v", msg, got, want)
		}
	}
}

func TestContainerConfigs(t *testing.T) {
	conf, host, err := containerConfigs(ContainerConfig{
		Name: "a-web", Image: "wp-nginx:1.26", Network: "wp-network-3", IP: "172.20.3.4",
		HostIP: "127.0.0.1", HostPort: 8003, ContainerPort: 80, CPUs: 0.5, Memory: 256 << 20,
		StopSignal: "SIGQUIT", StopTimeout: 10, Mounts: []Bind{{Source: "/x", Target: "/var/www/html", ReadOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if host.NanoCPUs != 5e8 || host.Memory != 256<<20 || host.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("resources/restart = %d %d %s", host.NanoCPUs, host.Memory, host.RestartPolicy.Name)
	}
	if len(host.Binds) != 0 || len(host.Mounts) != 1 || host.Mounts[0] != (mount.Mount{Type: mount.TypeBind, Source: "/x", Target: "/var/www/html", ReadOnly: true}) {
		t.Errorf("binds %v, mounts %+v: want one read-only mount of type bind", host.Binds, host.Mounts)
	}
	if string(host.NetworkMode) != "wp-network-3" || *conf.StopTimeout != 10 || conf.StopSignal != "SIGQUIT" {
		t.Errorf("network %s, stop %s/%d", host.NetworkMode, conf.StopSignal, *conf.StopTimeout)
	}
	if len(host.PortBindings) != 1 || len(conf.ExposedPorts) != 1 {
		t.Fatalf("ports = %v / %v", host.PortBindings, conf.ExposedPorts)
	}
	for p, b := range host.PortBindings {
		if p.String() != "80/tcp" || b[0].HostIP.String() != "127.0.0.1" || b[0].HostPort != "8003" {
			t.Errorf("binding %s -> %+v", p, b)
		}
	}
	_, host, err = containerConfigs(ContainerConfig{Name: "a-db", Image: "wp-mariadb:11.8", Network: "n", IP: "172.20.3.2"})
	if err != nil || len(host.PortBindings) != 0 {
		t.Errorf("a database publishes nothing: %v, %v", host.PortBindings, err)
	}
	if _, _, err := containerConfigs(ContainerConfig{HostPort: 8000, ContainerPort: 80, HostIP: "not-an-ip"}); err == nil {
		t.Error("a bad bind address must be refused")
	}
}

// TestKeptOutput: the first KeptHead and last KeptTail bytes are kept, whatever the sizes of
// the writes, and what lies between is counted.
func TestKeptOutput(t *testing.T) {
	k := &kept{}
	k.Write([]byte("start\n"))
	if got := k.String(); got != "start" {
		t.Errorf("short output = %q", got)
	}
	body := bytes.Repeat([]byte("x"), 3*KeptTail)
	for _, chunk := range [][]byte{body[:7], body[7 : KeptHead+100], body[KeptHead+100:], []byte("\nthe end\n")} {
		if n, err := k.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if len(k.head) != KeptHead || len(k.tail) != KeptTail || k.total != int64(len(body))+15 {
		t.Fatalf("head %d, tail %d, total %d", len(k.head), len(k.tail), k.total)
	}
	got := k.String()
	if !strings.HasPrefix(got, "start\nxxx") || !strings.HasSuffix(got, "xxx\nthe end") ||
		!strings.Contains(got, fmt.Sprintf("\n[%d bytes not kept]\n", k.total-KeptHead-KeptTail)) {
		t.Errorf("kept output: %q...%q", got[:20], got[len(got)-20:])
	}
}

// TestBudget: the write that passes the bound fails with an OutputError naming the command;
// the two streams count together.
func TestBudget(t *testing.T) {
	b := &budget{max: 10, cmd: "wp-dind-install"}
	var out, errOut bytes.Buffer
	w1, w2 := b.writer(&out), b.writer(&errOut)
	if _, err := w1.Write([]byte("123456")); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Write([]byte("7890")); err != nil {
		t.Fatal(err)
	}
	_, err := w1.Write([]byte("!"))
	var oe *OutputError
	if !errors.As(err, &oe) || err.Error() != "wp-dind-install printed more than 10B" {
		t.Errorf("err = %v", err)
	}
	if (&budget{}).writer(&out) != io.Writer(&out) {
		t.Error("no bound: the writer itself")
	}
}

func TestDecodeLoadStream(t *testing.T) {
	ok := `{"stream":"Loaded image: wp-php:8.4\n"}` + "\n" + `{"stream":"Loaded image: wp-php:8\nLoaded image ID: sha256:abc\n"}`
	got, err := decodeLoadStream(strings.NewReader(ok))
	if err != nil || !reflect.DeepEqual(got, []string{"wp-php:8.4", "wp-php:8", "sha256:abc"}) {
		t.Errorf("success: %v, %v", got, err)
	}
	// What dockerd 20.10 sends for a layer whose content does not match its config.
	bad := `{"errorDetail":{"message":"invalid diffID for layer 0: expected \"sha256:aa\", got \"sha256:bb\""},"error":"invalid diffID for layer 0: expected \"sha256:aa\", got \"sha256:bb\""}`
	_, err = decodeLoadStream(strings.NewReader(bad))
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(le.Message, "invalid diffID") {
		t.Errorf("error in stream: want a LoadError, got %v", err)
	}
	if _, err := decodeLoadStream(strings.NewReader(`{"error":"no space left on device"}`)); !errors.As(err, &le) {
		t.Errorf("bare error field: want a LoadError, got %v", err)
	}
	if _, err := decodeLoadStream(strings.NewReader(`{"stream":"Loaded`)); err == nil || errors.As(err, &le) {
		t.Errorf("cut stream: want a read error, got %v", err)
	}
}

// TestContainerConfigsPrivileges: the pids limit, capabilities and security options reach
// the host config as given; no pids limit leaves the engine's default.
func TestContainerConfigsPrivileges(t *testing.T) {
	_, host, err := containerConfigs(ContainerConfig{
		Name: "a-php", Image: "wp-php:8.4", Network: "n", IP: "172.20.3.3", Pids: 256,
		CapDrop: []string{"ALL"}, CapAdd: []string{"CHOWN", "SETUID"}, SecurityOpt: []string{"no-new-privileges"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if host.PidsLimit == nil || *host.PidsLimit != 256 {
		t.Errorf("pids limit = %v, want 256", host.PidsLimit)
	}
	if !reflect.DeepEqual(host.CapDrop, []string{"ALL"}) || !reflect.DeepEqual(host.CapAdd, []string{"CHOWN", "SETUID"}) {
		t.Errorf("caps: drop %v add %v", host.CapDrop, host.CapAdd)
	}
	if !reflect.DeepEqual(host.SecurityOpt, []string{"no-new-privileges"}) {
		t.Errorf("security opts %v", host.SecurityOpt)
	}
	if _, host, _ = containerConfigs(ContainerConfig{Name: "b", Network: "n", IP: "172.20.3.3"}); host.PidsLimit != nil {
		t.Errorf("no pids given: limit %d, want the engine's default (nil)", *host.PidsLimit)
	}
}

package reconciler

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// fakeDocker is an httptest server speaking the Engine API paths the moby client uses for
// what the reconciler does, holding containers and networks in memory and counting requests.
type fakeDocker struct {
	t          *testing.T
	srv        *httptest.Server
	mu         sync.Mutex
	containers map[string]*fakeContainer
	networks   map[string]*fakeNetwork
	images     []string
	calls      map[string]int
	first      time.Time // of the first counted request
	next       int
	health     string      // what a container list says of running containers' health
	events     chan string // JSON messages for the event stream
	eventKinds []string    // the event filter of the last stream
	closed     chan struct{}
	failExec   string              // execs whose command holds it exit 1
	broken     chan struct{}       // closed by RestartEngine: ends the event streams of before
	unhealthy  map[string]bool     // containers (by name) whose wp-dind-health fails
	execs      map[string]fakeExec // by exec ID
	order      []string            // "create NAME", "start NAME", "remove NAME", in request order
	installs   map[string]int      // wp-dind-install runs by instance: an installed site answers

	execExits map[string]int                       // execs whose command holds a key exit with its code
	onExec    func(c *fakeContainer, cmd []string) // plays an exec's work (called under mu)
}

type fakeExec struct {
	container string
	cmd       []string
}

type fakeContainer struct {
	ID, Name, State string
	Labels          map[string]string
	Create          container.CreateRequest
}

type fakeNetwork struct {
	ID, Name, Subnet string
	Labels, Options  map[string]string
}

func newFakeDocker(t *testing.T) *fakeDocker {
	f := &fakeDocker{t: t, containers: map[string]*fakeContainer{}, networks: map[string]*fakeNetwork{}, calls: map[string]int{},
		health: "healthy", events: make(chan string, 16), broken: make(chan struct{}),
		unhealthy: map[string]bool{}, execs: map[string]fakeExec{}, installs: map[string]int{}}
	f.images = []string{"wp-php:7.4", "wp-php:8.4", "wp-mariadb:10.5", "wp-mariadb:11.8", "wp-nginx:1.26"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	// Close waits for the requests in flight: end the event streams first, or a test that
	// fails while its reconciler still runs hangs in its cleanup instead of reporting.
	f.closed = make(chan struct{})
	t.Cleanup(func() { close(f.closed) })
	return f
}

// Host is the DOCKER_HOST form of the server's address.
func (f *fakeDocker) Host() string { return "tcp://" + strings.TrimPrefix(f.srv.URL, "http://") }

// Calls returns the requests counted so far (pings and the event stream excluded) and resets.
func (f *fakeDocker) Calls() (int, map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, by := 0, f.calls
	for _, c := range by {
		n += c
	}
	f.calls = map[string]int{}
	return n, by
}

// FirstCall is when the first counted request arrived (zero: none yet).
func (f *fakeDocker) FirstCall() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

func (f *fakeDocker) serve(w http.ResponseWriter, req *http.Request) {
	path := versionPrefix.ReplaceAllString(req.URL.Path, "")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	route := req.Method + " /" + parts[0]
	if len(parts) > 2 {
		route += "/{id}/" + parts[2]
	} else if len(parts) == 2 {
		route += "/" + map[bool]string{true: parts[1], false: "{id}"}[parts[1] == "json" || parts[1] == "create"]
	}
	if parts[0] != "_ping" && parts[0] != "events" {
		f.mu.Lock()
		f.calls[route]++
		if f.first.IsZero() {
			f.first = time.Now()
		}
		f.mu.Unlock()
	}
	switch route {
	case "HEAD /_ping", "GET /_ping":
		w.Header().Set("Api-Version", "1.41")
		w.WriteHeader(http.StatusOK)
	case "GET /events":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		f.mu.Lock()
		f.eventKinds = filterValues(req, "event")
		broken := f.broken
		f.mu.Unlock()
		for {
			select {
			case <-req.Context().Done():
				return
			case <-f.closed:
				return
			case <-broken:
				return
			case m := <-f.events:
				fmt.Fprintln(w, m)
				w.(http.Flusher).Flush()
			}
		}
	case "GET /exec/{id}/json":
		fmt.Fprintf(w, `{"ID":%q,"Running":false,"ExitCode":%d}`, parts[1], f.execExit(parts[1]))
	case "POST /exec/{id}/start":
		// Read the whole request first: closing a connection with request bytes unread
		// in the kernel's buffer sends RST, and the client may lose the output to it.
		_, _ = io.Copy(io.Discard, req.Body)
		f.hijackExec(w)
	default:
		f.mu.Lock()
		defer f.mu.Unlock()
		f.objects(w, req, route, parts)
	}
}

func (f *fakeDocker) objects(w http.ResponseWriter, req *http.Request, route string, parts []string) {
	id := ""
	if len(parts) > 1 {
		id = parts[1]
	}
	switch route {
	case "GET /containers/json":
		f.listContainers(w, req)
	case "POST /containers/create":
		f.createContainer(w, req)
	case "POST /containers/{id}/start", "POST /containers/{id}/stop":
		c, ok := f.containers[id]
		if !ok {
			http.Error(w, `{"message":"no such container"}`, http.StatusNotFound)
			return
		}
		if parts[2] == "start" {
			if holder := f.holder(c); holder != "" {
				http.Error(w, `{"message":"failed to set up container networking: Address already in use (held by `+holder+`)"}`, http.StatusInternalServerError)
				return
			}
			f.order = append(f.order, "start "+c.Name)
		}
		c.State = map[string]string{"start": "running", "stop": "exited"}[parts[2]]
		w.WriteHeader(http.StatusNoContent)
	case "DELETE /containers/{id}":
		if c, ok := f.containers[id]; ok {
			f.order = append(f.order, "remove "+c.Name)
		}
		delete(f.containers, id)
		w.WriteHeader(http.StatusNoContent)
	case "POST /containers/{id}/exec":
		c, ok := f.containers[id]
		if !ok || c.State != "running" {
			http.Error(w, `{"message":"container is not running"}`, http.StatusConflict)
			return
		}
		var body struct{ Cmd []string }
		_ = json.NewDecoder(req.Body).Decode(&body)
		f.next++
		execID := fmt.Sprintf("exec%d", f.next)
		f.execs[execID] = fakeExec{container: id, cmd: body.Cmd}
		if len(body.Cmd) > 0 && body.Cmd[0] == "wp-dind-install" {
			f.installs[c.Labels[docker.LabelInstance]]++
		}
		if f.onExec != nil {
			f.onExec(c, body.Cmd)
		}
		fmt.Fprintf(w, `{"Id":%q}`, execID)
	case "GET /networks":
		f.listNetworks(w, req)
	case "POST /networks/create":
		var body struct {
			Name            string
			Labels, Options map[string]string
			IPAM            struct{ Config []struct{ Subnet string } }
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		f.next++
		n := &fakeNetwork{ID: fmt.Sprintf("net%d", f.next), Name: body.Name, Labels: body.Labels, Options: body.Options, Subnet: body.IPAM.Config[0].Subnet}
		f.networks[n.ID] = n
		fmt.Fprintf(w, `{"Id":%q}`, n.ID)
	case "DELETE /networks/{id}":
		delete(f.networks, id)
		w.WriteHeader(http.StatusNoContent)
	case "POST /networks/{id}/connect":
		w.WriteHeader(http.StatusOK)
	case "GET /images/json":
		var out []map[string]any
		for _, img := range f.images {
			out = append(out, map[string]any{"Id": "sha256:" + img, "RepoTags": []string{img}})
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		f.t.Errorf("fake docker: unexpected %s %s", req.Method, req.URL.Path)
		http.Error(w, `{"message":"not implemented"}`, http.StatusNotImplemented)
	}
}

// filterValues decodes the `filters` query parameter: {"label":{"k=v":true}}.
func filterValues(req *http.Request, key string) []string {
	var f map[string]map[string]bool
	_ = json.Unmarshal([]byte(req.URL.Query().Get("filters")), &f)
	var out []string
	for v := range f[key] {
		out = append(out, v)
	}
	return out
}

func hasLabels(labels map[string]string, want []string) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (f *fakeDocker) listContainers(w http.ResponseWriter, req *http.Request) {
	var out []map[string]any
	for _, c := range f.containers {
		if hasLabels(c.Labels, filterValues(req, "label")) {
			status := "Up 2 seconds (" + map[string]string{"healthy": "healthy", "starting": "health: starting"}[f.health] + ")"
			nets := map[string]any{}
			for n := range c.endpoints() {
				nets[n] = map[string]any{}
			}
			var ports []map[string]any
			if c.State == "running" {
				for _, p := range c.hostPorts() {
					ports = append(ports, map[string]any{"PrivatePort": 80, "PublicPort": p, "Type": "tcp"})
				}
			}
			out = append(out, map[string]any{"Id": c.ID, "Names": []string{"/" + c.Name}, "Labels": c.Labels, "State": c.State,
				"Status": status, "NetworkSettings": map[string]any{"Networks": nets}, "Ports": ports})
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeDocker) createContainer(w http.ResponseWriter, req *http.Request) {
	name := req.URL.Query().Get("name")
	for _, c := range f.containers {
		if c.Name == name {
			http.Error(w, `{"message":"name in use"}`, http.StatusConflict)
			return
		}
	}
	var body container.CreateRequest
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		f.t.Errorf("fake docker: decode create: %v", err)
	}
	f.next++
	c := &fakeContainer{ID: fmt.Sprintf("c%06d", f.next), Name: name, State: "created", Labels: body.Labels, Create: body}
	f.containers[c.ID] = c
	f.order = append(f.order, "create "+name)
	fmt.Fprintf(w, `{"Id":%q}`, c.ID)
}

func (f *fakeDocker) listNetworks(w http.ResponseWriter, req *http.Request) {
	var out []map[string]any
	names := filterValues(req, "name")
	for _, n := range f.networks {
		if !hasLabels(n.Labels, filterValues(req, "label")) || (len(names) > 0 && !strings.Contains(n.Name, names[0])) {
			continue
		}
		out = append(out, map[string]any{"Id": n.ID, "Name": n.Name, "Labels": n.Labels,
			"IPAM": map[string]any{"Config": []map[string]string{{"Subnet": n.Subnet}}}})
	}
	_ = json.NewEncoder(w).Encode(out)
}

// hijackExec answers an attached exec start: 101, then "ok" on stdout in the multiplexed
// stream format, then end of stream. Like dockerd it reads what the client sends (an exec's
// stdin) until the client closes: a socket closed with unread input resets the connection,
// and the client could lose the output.
func (f *fakeDocker) hijackExec(w http.ResponseWriter) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		f.t.Errorf("hijack: %v", err)
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	frame := make([]byte, 8)
	frame[0] = 1
	binary.BigEndian.PutUint32(frame[4:], 3)
	_, _ = buf.Write(append(frame, "ok\n"...))
	_ = buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite() // end of the output stream
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, buf)
}

// Event sends a container event for the container called name on the event stream.
func (f *fakeDocker) Event(name, action string) {
	c := f.Container(name)
	if c == nil {
		f.t.Fatalf("fake docker: no container %q for event %q", name, action)
	}
	m, _ := json.Marshal(map[string]any{"Type": "container", "Action": action,
		"Actor": map[string]any{"ID": c.ID, "Attributes": c.Labels}})
	f.events <- string(m)
}

// Container returns a copy of the container called name, as it is now.
func (f *fakeDocker) Container(name string) *fakeContainer {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.Name == name {
			cp := *c // a copy: the fake API changes its State as the reconciler calls
			return &cp
		}
	}
	return nil
}

// RemoveByName deletes a container behind the reconciler's back.
func (f *fakeDocker) RemoveByName(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.containers {
		if c.Name == name {
			delete(f.containers, id)
		}
	}
}

// execExit is the exit code of an exec: 1 for wp-dind-health in a container marked unhealthy,
// 1 for failExec, then execExits' code.
func (f *fakeDocker) execExit(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.execs[id]
	if c := f.containers[e.container]; c != nil && len(e.cmd) > 0 && e.cmd[0] == "wp-dind-health" && f.unhealthy[c.Name] {
		return 1
	}
	if f.failExec != "" && strings.Contains(strings.Join(e.cmd, " "), f.failExec) {
		return 1
	}
	for part, code := range f.execExits {
		if strings.Contains(strings.Join(e.cmd, " "), part) {
			return code
		}
	}
	return 0
}

// holder names the running container that holds c's static address or host port, as the
// engine refuses to start c then.
func (f *fakeDocker) holder(c *fakeContainer) string {
	for _, o := range f.containers {
		if o.ID == c.ID || o.State != "running" {
			continue
		}
		for n, ep := range c.endpoints() {
			if oep, ok := o.endpoints()[n]; ok && ep.IPAMConfig != nil && oep.IPAMConfig != nil &&
				ep.IPAMConfig.IPv4Address == oep.IPAMConfig.IPv4Address {
				return o.Name
			}
		}
		for _, p := range c.hostPorts() {
			if slices.Contains(o.hostPorts(), p) {
				return o.Name
			}
		}
	}
	return ""
}

func (c *fakeContainer) endpoints() map[string]*network.EndpointSettings {
	if c.Create.NetworkingConfig == nil {
		return nil
	}
	return c.Create.NetworkingConfig.EndpointsConfig
}

// hostPath is where the host sees path of the container, through its binds ("" if none).
func (c *fakeContainer) hostPath(path string) string {
	if c.Create.HostConfig == nil {
		return ""
	}
	for _, m := range c.Create.HostConfig.Mounts {
		src, target := m.Source, m.Target
		if rel, ok := strings.CutPrefix(path, target); ok && (rel == "" || rel[0] == '/') {
			return src + rel
		}
	}
	return ""
}

func (c *fakeContainer) hostPorts() []int {
	var out []int
	if c.Create.HostConfig == nil {
		return nil
	}
	for _, bs := range c.Create.HostConfig.PortBindings {
		for _, b := range bs {
			if p, err := strconv.Atoi(b.HostPort); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// RestartEngine plays dockerd killed and started again: the event streams break and every
// container is found exited (they died with dockerd; restart policies did not start them).
func (f *fakeDocker) RestartEngine() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.broken)
	f.broken = make(chan struct{})
	for _, c := range f.containers {
		c.State = "exited"
	}
}

// Order returns the container creates, starts and removals so far, in request order.
func (f *fakeDocker) Order() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

// SetUnhealthy makes wp-dind-health fail (or pass again) in the container called name.
func (f *fakeDocker) SetUnhealthy(name string, bad bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unhealthy[name] = bad
}

// SiteAnswers plays the site check of host ("localhost:PORT"): the site answers when a
// running web container publishes PORT and its instance was installed.
func (f *fakeDocker) SiteAnswers(host string) error {
	_, port, _ := strings.Cut(host, ":")
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.State == "running" && c.Labels[docker.LabelRole] == "web" && slices.Contains(c.hostPorts(), p) {
			if f.installs[c.Labels[docker.LabelInstance]] == 0 {
				return fmt.Errorf("GET %s: 302 to the installer", host)
			}
			return nil
		}
	}
	return fmt.Errorf("GET %s: connection refused", host)
}

// Installs is how many times wp-dind-install ran for the instance called name.
func (f *fakeDocker) Installs(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.installs[name]
}

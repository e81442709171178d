package images_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The isolation matrix: every source (each instance's PHP and web container, and the wp-dind
// container itself as the control that every target listens) tries TCP to every target (each
// listener of the wp-dind container on each of its addresses, and each instance container's
// ports on its networks).

// source is where probes start; container "" is the wp-dind container itself.
type source struct {
	name, instance, container string
}

// target is one address and port, and what it is for the model.
type target struct {
	label     string
	addr      string
	port      int
	local     bool   // an address of the wp-dind container itself
	owner     string // the instance whose container it is
	container string // that container
	onShared  bool   // the container's address on the shared network
}

// localPorts are the wp-dind container's listeners: phpMyAdmin, MailDev's web UI, the inner
// engine's TCP API, the dashboard, the sites' ports (docker-proxy), MailDev's SMTP and the
// Xdebug stand-in.
func localPorts() []int {
	ports := []int{8080, 1080, 2375, 8500}
	for _, s := range isolationSites {
		ports = append(ports, s.Port)
	}
	return append(ports, 1025, 9003)
}

// containerPorts are what each role listens on.
var containerPorts = map[string][]int{"db": {3306}, "php": {9000}, "web": {80, 8081}}

// allowed is the isolation model (docs/operations.md, "Isolation"): what src may open.
func allowed(src source, tg target) bool {
	switch {
	case src.instance == "":
		return true // the control: every target listens
	case tg.local:
		return tg.port == 1025 || tg.port == 9003 // SMTP, Xdebug
	case tg.container == src.container:
		return true // one of its own addresses: the packet never leaves the container
	case tg.onShared:
		return sharedSites[src.instance] && tg.port == 80 // web to web, its own web server too
	}
	return tg.owner == src.instance // its own containers, on its own network
}

// matrix is the outcome of every probe: result[source][target] is open, refused or timeout.
type matrix struct {
	sources []source
	targets []target
	result  map[string]map[string]string
}

// matrix reads the topology inside the wp-dind container (its addresses, the containers'
// addresses, which change when dockerd restarts them) and runs every source's probes.
func (x *isolation) matrix() *matrix {
	m := &matrix{targets: x.targets(), result: map[string]map[string]string{}}
	m.sources = []source{{name: "wp-dind"}}
	for _, s := range isolationSites {
		for _, role := range []string{"php", "web"} {
			m.sources = append(m.sources, source{name: s.Name + " " + role, instance: s.Name, container: s.Name + "-" + role})
		}
	}
	for _, src := range m.sources {
		m.result[src.name] = x.probe(src, m.targets)
	}
	return m
}

// targets: each local listener on each local address (every gateway, eth0, docker0), and
// each instance container's ports on its own network and, for shared instances, on the
// shared one.
func (x *isolation) targets() []target {
	var out []target
	for _, a := range x.localAddrs() {
		for _, p := range localPorts() {
			out = append(out, target{label: a[0], addr: a[1], port: p, local: true})
		}
	}
	for _, s := range isolationSites {
		for _, role := range []string{"db", "php", "web"} {
			name := s.Name + "-" + role
			for netName, ip := range x.containerAddrs(name) {
				shared := netName == "wp-shared"
				for _, p := range containerPorts[role] {
					label := name
					if shared {
						label += " (shared)"
					}
					out = append(out, target{label: label, addr: ip, port: p, owner: s.Name, container: name, onShared: shared})
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b target) int { return strings.Compare(a.label, b.label) })
	return out
}

// localAddrs are the wp-dind container's IPv4 addresses but loopback: [label, address].
func (x *isolation) localAddrs() [][2]string {
	var out [][2]string
	for _, l := range strings.Split(x.inDind("ip", "-4", "-o", "addr", "show"), "\n") {
		f := strings.Fields(l) // 2: eth0    inet 172.17.0.3/16 brd ...
		if len(f) < 4 || f[1] == "lo" {
			continue
		}
		iface, _, _ := strings.Cut(f[1], "@")
		addr, _, _ := strings.Cut(f[3], "/")
		out = append(out, [2]string{"local " + iface, addr})
	}
	return out
}

// containerAddrs maps each network of a container of the inner engine to its address there.
func (x *isolation) containerAddrs(name string) map[string]string {
	out := map[string]string{}
	tmpl := `{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}} {{end}}`
	for _, kv := range strings.Fields(x.inDind("docker", "inspect", "-f", tmpl, name)) {
		if n, ip, ok := strings.Cut(kv, "="); ok && ip != "" {
			out[n] = ip
		}
	}
	return out
}

// probeScript tries every ADDR:PORT given as arguments from where it runs, 16 at a time (the
// instance containers have a pids limit), with bash's /dev/tcp and 2 s each, and prints
// "ADDR:PORT open|refused|timeout" per target.
const probeScript = `probe() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
	case $? in 0) r=open ;; 124) r=timeout ;; *) r=refused ;; esac
	echo "$1:$2 $r"
}
n=0
for t in "$@"; do
	probe "${t%:*}" "${t##*:}" &
	n=$((n + 1))
	if [ $((n % 16)) = 0 ]; then wait; fi
done
wait`

// probe runs probeScript in src (its container through the inner engine, or the wp-dind
// container itself) and returns each target's outcome.
func (x *isolation) probe(src source, targets []target) map[string]string {
	x.t.Helper()
	args := []string{"bash", "-c", probeScript, "probe"}
	if src.container != "" {
		args = append([]string{"docker", "exec", src.container}, args...)
	}
	for _, tg := range targets {
		args = append(args, tg.addr+":"+strconv.Itoa(tg.port))
	}
	out := x.inDind(args...)
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
			got[k] = v
		}
	}
	return got
}

func (tg target) key() string { return tg.addr + ":" + strconv.Itoa(tg.port) }

// mismatches are the probes whose outcome is not the model's, one line each.
func (m *matrix) mismatches() []string {
	var out []string
	for _, src := range m.sources {
		for _, tg := range m.targets {
			got := m.result[src.name][tg.key()]
			if (got == "open") != allowed(src, tg) {
				out = append(out, fmt.Sprintf("from %s to %s %s: %s, want %s", src.name, tg.label, tg.key(), or(got, "no answer"),
					map[bool]string{true: "open", false: "closed"}[allowed(src, tg)]))
			}
		}
	}
	return out
}

// table prints a row per target and a column per source.
func (m *matrix) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s", "target")
	for _, src := range m.sources {
		fmt.Fprintf(&b, " %-10s", src.name)
	}
	b.WriteString("\n")
	for _, tg := range m.targets {
		fmt.Fprintf(&b, "%-36s", tg.label+" "+tg.key())
		for _, src := range m.sources {
			got := m.result[src.name][tg.key()]
			cell := map[string]string{"open": "open", "refused": "·", "timeout": "~"}[got]
			if (got == "open") != allowed(src, tg) {
				cell += "!"
			}
			fmt.Fprintf(&b, " %-10s", or(cell, "?!"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

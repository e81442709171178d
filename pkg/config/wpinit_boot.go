package config

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The tables of wpinit.toml that turn wpinit from a plain init into wp-dind's: preparing
// the container for a nested dockerd, loading shared images and reconciling instances. Each
// is read at boot only; a reload applies the services and the log level.

// Sysinit is [sysinit]: prepare the container for a nested dockerd before any service starts.
type Sysinit struct {
	Enabled  bool   `toml:"enabled" json:"enabled"`
	DataRoot string `toml:"data_root" json:"data_root"` // dockerd's data root; refused on overlayfs
	Iptables string `toml:"iptables" json:"iptables"`   // auto | nft | legacy
}

// Docker is [docker]: the engine that images and instances live in, and the configuration
// sysinit renders for the dockerd service.
type Docker struct {
	Host            string `toml:"host" json:"host"`                           // "" = DOCKER_HOST or the default socket
	DaemonConfig    string `toml:"daemon_config" json:"daemon_config"`         // base daemon.json
	DaemonConfigOut string `toml:"daemon_config_out" json:"daemon_config_out"` // what dockerd reads; "" = not rendered
	TCP             string `toml:"tcp" json:"tcp"`                             // "host:port" of the engine's TCP API; "" = off
	TLSDir          string `toml:"tls_dir" json:"tls_dir"`                     // ca.pem, cert.pem, key.pem for that API
}

// Images is [images]: the shared image tarballs loaded once the engine answers.
type Images struct {
	Dir      string `toml:"dir" json:"dir"` // "" = no loading
	Parallel int    `toml:"parallel" json:"parallel"`
}

// Instances is [instances]: the WordPress instances wpinit converges.
type Instances struct {
	File              string   `toml:"file" json:"file"` // "" = no reconciler
	Root              string   `toml:"root" json:"root"`
	BindAddress       string   `toml:"bind_address" json:"bind_address"`
	Parallel          int      `toml:"parallel" json:"parallel"`
	Resync            Duration `toml:"resync" json:"resync"`
	PoolNetworks      int      `toml:"pool_networks" json:"pool_networks"`
	BlockExternalHTTP bool     `toml:"block_external_http" json:"block_external_http"`
	Owner             string   `toml:"owner" json:"owner"`
	StopOnExit        bool     `toml:"stop_on_exit" json:"stop_on_exit"`
	StopTimeout       Duration `toml:"stop_timeout" json:"stop_timeout"`
	PhpMyAdminConfig  string   `toml:"phpmyadmin_config" json:"phpmyadmin_config"` // "" = none written
	ReservedPorts     []int    `toml:"reserved_ports" json:"reserved_ports"`       // never an instance's

	// Ports are the instances' host ports, "8000-8099" by default. An instance's port is
	// published 1:1 by the outer container (its URL is http://localhost:PORT).
	Ports PortRange `toml:"ports" json:"ports"`
}

// PortRange is an inclusive range of ports written "LOW-HIGH" ("8000-8099").
type PortRange struct{ Min, Max int }

// DefaultPorts is instances.ports' default: the instances' host ports in wp-dind.
var DefaultPorts = PortRange{MinPort, MaxPort}

func (r *PortRange) UnmarshalText(b []byte) error {
	low, high, ok := strings.Cut(string(b), "-")
	lo, err1 := strconv.Atoi(low)
	hi, err2 := strconv.Atoi(high)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return fmt.Errorf("invalid port range %q: use LOW-HIGH within 1-65535, like \"8000-8099\"", b)
	}
	*r = PortRange{lo, hi}
	return nil
}

func (r PortRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// InstancesStopBudget is the part of the global stop budget the instances take before the
// services stop: nothing when instances are not managed or not stopped by wpinit.
func (w *Wpinit) InstancesStopBudget() time.Duration {
	if w.Instances.File == "" || !w.Instances.StopOnExit {
		return 0
	}
	return w.Instances.StopTimeout.D()
}

// UsesDocker reports whether any part needs the Docker engine.
func (w *Wpinit) UsesDocker() bool { return w.Images.Dir != "" || w.Instances.File != "" }

func defaultBoot(w *Wpinit) {
	w.Sysinit = Sysinit{DataRoot: "/var/lib/docker", Iptables: "auto"}
	w.Images = Images{Parallel: 2}
	w.Instances = Instances{
		Root: "/wordpress-instances", BindAddress: "0.0.0.0", Parallel: 3,
		Resync: Duration(time.Minute), PoolNetworks: 10, Owner: "wpinit",
		StopOnExit: true, StopTimeout: Duration(55 * time.Second), Ports: DefaultPorts,
	}
}

var iptablesModes = []string{"auto", "nft", "legacy"}

func (w *Wpinit) validateBoot(p *problems) {
	if w.Sysinit.Enabled && !filepath.IsAbs(w.Sysinit.DataRoot) {
		p.add("sysinit.data_root", "must be an absolute path")
	}
	if !slices.Contains(iptablesModes, w.Sysinit.Iptables) {
		p.add("sysinit.iptables", "unknown mode %q: use auto, nft or legacy", w.Sysinit.Iptables)
	}
	w.Docker.validate(p, w.Sysinit.Enabled)
	if w.Images.Dir != "" && !filepath.IsAbs(w.Images.Dir) {
		p.add("images.dir", "must be an absolute path (or \"\" to load nothing)")
	}
	if w.Images.Parallel < 1 {
		p.add("images.parallel", "must be at least 1")
	}
	w.Instances.validate(p)
	// The services need their share of the budget once the instances are stopped.
	if left := w.Wpinit.StopTimeout.D() - w.InstancesStopBudget(); left < 10*time.Second {
		p.add("wpinit.stop_timeout", "%s leaves %s for the services after instances.stop_timeout (%s): give at least 10s more",
			w.Wpinit.StopTimeout.D(), left, w.Instances.StopTimeout.D())
	}
}

func (d *Docker) validate(p *problems, sysinit bool) {
	if d.DaemonConfigOut == "" {
		if d.TCP != "" {
			p.add("docker.tcp", "needs docker.daemon_config_out: the API is set in the dockerd config wpinit renders")
		}
		return
	}
	if !sysinit {
		p.add("docker.daemon_config_out", "needs [sysinit] enabled = true: sysinit renders it")
	}
	for key, path := range map[string]string{"docker.daemon_config": d.DaemonConfig, "docker.daemon_config_out": d.DaemonConfigOut} {
		if !filepath.IsAbs(path) {
			p.add(key, "must be an absolute path")
		}
	}
	if d.TCP != "" {
		if _, _, err := net.SplitHostPort(d.TCP); err != nil {
			p.add("docker.tcp", "invalid address %q: use host:port, like \"0.0.0.0:2375\"", d.TCP)
		}
	}
	if d.TLSDir != "" && !filepath.IsAbs(d.TLSDir) {
		p.add("docker.tls_dir", "must be an absolute path")
	}
}

func (in *Instances) validate(p *problems) {
	if in.File == "" {
		return
	}
	if !filepath.IsAbs(in.File) {
		p.add("instances.file", "must be an absolute path (or \"\" for no instances)")
	}
	if !filepath.IsAbs(in.Root) {
		p.add("instances.root", "must be an absolute path")
	}
	if _, err := netip.ParseAddr(in.BindAddress); err != nil {
		p.add("instances.bind_address", "invalid address %q: use an IP like \"0.0.0.0\" or \"127.0.0.1\"", in.BindAddress)
	}
	if in.Parallel < 1 {
		p.add("instances.parallel", "must be at least 1")
	}
	if in.Resync.D() < time.Second {
		p.add("instances.resync", "must be at least 1s")
	}
	if in.PoolNetworks < 0 || in.PoolNetworks > 254 {
		p.add("instances.pool_networks", "must be between 0 and 254")
	}
	if err := ValidName(in.Owner); err != nil {
		p.add("instances.owner", "%v", err)
	}
	if in.StopOnExit && in.StopTimeout.D() < time.Second {
		p.add("instances.stop_timeout", "must be at least 1s")
	}
	for i, port := range in.ReservedPorts {
		if port < 1 || port > 65535 {
			p.add(fmt.Sprintf("instances.reserved_ports[%d]", i), "port %d out of range 1-65535", port)
		}
	}
	if in.PhpMyAdminConfig != "" && !filepath.IsAbs(in.PhpMyAdminConfig) {
		p.add("instances.phpmyadmin_config", "must be an absolute path (or \"\" to write none)")
	}
}

// SetDockerTCP turns the engine's TCP API on at addr, as `WPINIT_DOCKER_TCP=addr` asks, and
// checks the result as it would check the file's own docker.tcp.
func (w *Wpinit) SetDockerTCP(addr string) error {
	w.Docker.TCP = addr
	p := &problems{file: "WPINIT_DOCKER_TCP"}
	w.Docker.validate(p, w.Sysinit.Enabled)
	return p.err()
}

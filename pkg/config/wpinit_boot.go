package config

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
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
	// HostSocket is where the host's Docker socket is mounted when the user opts in
	// (docs/images.md, "From the host engine"): the images the instances need are then
	// streamed from the host engine. Used only when a socket is there; "" = never.
	HostSocket string `toml:"host_socket" json:"host_socket"`
}

// Instances is [instances]: the WordPress instances wpinit converges. Its defaults
// (DefaultInstances) are the only ones: the reconciler requires every value.
type Instances struct {
	File              string           `toml:"file" json:"file"` // "" = no reconciler
	Root              string           `toml:"root" json:"root"`
	BindAddress       string           `toml:"bind_address" json:"bind_address"`
	ProbeAddress      string           `toml:"probe_address" json:"probe_address"`   // wpinit dials PROBE:PORT to check a site
	Ports             PortRange        `toml:"ports" json:"ports"`                   // instance ports are checked against and assigned from it
	ReservedPorts     []int            `toml:"reserved_ports" json:"reserved_ports"` // in Ports, never an instance's
	NetworkPrefix     string           `toml:"network_prefix" json:"network_prefix"` // instance N's network is PREFIX+N
	Subnets           Subnet           `toml:"subnets" json:"subnets"`               // instance N gets its Nth /24
	SharedNetwork     string           `toml:"shared_network" json:"shared_network"`
	SharedSubnet      Subnet           `toml:"shared_subnet" json:"shared_subnet"`
	BridgePrefix      string           `toml:"bridge_prefix" json:"bridge_prefix"` // instance N's bridge is PREFIX+N, the shared one PREFIX+"shared"
	ImagePrefix       string           `toml:"image_prefix" json:"image_prefix"`   // a component runs as PREFIX+flavor:version ("wp-php:8.4")
	PoolNetworks      int              `toml:"pool_networks" json:"pool_networks"`
	Parallel          int              `toml:"parallel" json:"parallel"`
	Resync            Duration         `toml:"resync" json:"resync"`
	Debounce          Duration         `toml:"debounce" json:"debounce"`
	Timeouts          InstanceTimeouts `toml:"timeouts" json:"timeouts"`
	BlockExternalHTTP bool             `toml:"block_external_http" json:"block_external_http"`
	SiteTemplates     bool             `toml:"site_templates" json:"site_templates"` // new sites start from a copy of their kind's template (docs/instances.md)
	Owner             string           `toml:"owner" json:"owner"`
	StopOnExit        bool             `toml:"stop_on_exit" json:"stop_on_exit"`
	StopTimeout       Duration         `toml:"stop_timeout" json:"stop_timeout"`
	PhpMyAdminConfig  string           `toml:"phpmyadmin_config" json:"phpmyadmin_config"` // "" = none written
	// ArchiveRetention, when set, deletes removed instances' archived folders older than it
	// (docs/operations.md, "Archives"); 0 = keep them until `ctl purge`.
	ArchiveRetention Duration `toml:"archive_retention" json:"archive_retention"`
	// Projects is the folder the instances' plugins, themes and mounts come from ("" = none:
	// instances.toml may declare none). HostRoot and HostProjects are where the machine
	// running wp-dind sees Root and Projects (make run sets them), for the IDE's path mappings.
	Projects     string `toml:"projects" json:"projects,omitempty"`
	HostRoot     string `toml:"host_root" json:"host_root,omitempty"`
	HostProjects string `toml:"host_projects" json:"host_projects,omitempty"`
}

// InstanceTimeouts is [instances.timeouts]: the bounds of one instance's steps.
type InstanceTimeouts struct {
	Healthy Duration `toml:"healthy" json:"healthy"` // each container's wp-dind-health to pass (a database's first start is the longest)
	Install Duration `toml:"install" json:"install"` // wp-dind-install
	HTTP    Duration `toml:"http" json:"http"`       // the site to answer 200 from an installed WordPress
	Backup  Duration `toml:"backup" json:"backup"`   // a backup: the dump and the archive
	Restore Duration `toml:"restore" json:"restore"` // a restore: staging, import and convergence
}

// InstancesStopBudget is the part of the global stop budget the instances take before the
// services stop: nothing when instances are not managed or not stopped by wpinit.
func (w *Wpinit) InstancesStopBudget() time.Duration {
	if w.Instances.File == "" || !w.Instances.StopOnExit {
		return 0
	}
	return w.Instances.StopTimeout.D()
}

// DefaultHostSocket is where `make run` mounts the host's Docker socket when asked to
// (WP_DIND_HOST_IMAGES=1).
const DefaultHostSocket = "/var/run/docker-host.sock"

// MinArchiveRetention is the shortest archive_retention: a shorter one would delete a
// removal's archive before anyone could look at it.
const MinArchiveRetention = time.Minute

// UsesDocker reports whether any part needs the Docker engine.
func (w *Wpinit) UsesDocker() bool { return w.Images.Dir != "" || w.Instances.File != "" }

func defaultBoot(w *Wpinit) {
	w.Sysinit = Sysinit{DataRoot: "/var/lib/docker", Iptables: "auto"}
	w.Images = Images{Parallel: 2, HostSocket: DefaultHostSocket}
	w.Instances = DefaultInstances()
	w.Dashboard = defaultDashboard()
	w.Router = defaultRouter()
}

// DefaultInstances is [instances] as a file that leaves every key out has it: the one home
// of these defaults (the reconciler does not default its options again).
func DefaultInstances() Instances {
	return Instances{
		Root: "/wordpress-instances", BindAddress: "0.0.0.0", ProbeAddress: "127.0.0.1",
		Ports:         PortRange{First: 8000, Last: 8099},
		NetworkPrefix: "wp-network-", Subnets: mustSubnet("172.20.0.0/16"),
		SharedNetwork: "wp-shared", SharedSubnet: mustSubnet("172.21.0.0/16"), BridgePrefix: "wpbr",
		ImagePrefix: "wp-", PoolNetworks: 10, Parallel: 3,
		Resync: Duration(time.Minute), Debounce: Duration(300 * time.Millisecond),
		Timeouts: InstanceTimeouts{
			Healthy: Duration(3 * time.Minute), Install: Duration(5 * time.Minute), HTTP: Duration(2 * time.Minute),
			Backup: Duration(30 * time.Minute), Restore: Duration(30 * time.Minute),
		},
		Owner: "wpinit", StopOnExit: true, SiteTemplates: true, StopTimeout: Duration(55 * time.Second),
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
	if w.Images.HostSocket != "" && !filepath.IsAbs(w.Images.HostSocket) {
		p.add("images.host_socket", "must be an absolute path (or \"\" to never use the host engine)")
	}
	if w.Images.Parallel < 1 {
		p.add("images.parallel", "must be at least 1")
	}
	w.Instances.validate(p)
	w.Dashboard.validate(p, &w.Instances)
	w.Router.validate(p, w.Services)
	w.Backups.validate(p)
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
	for _, a := range []struct{ key, addr string }{{"bind_address", in.BindAddress}, {"probe_address", in.ProbeAddress}} {
		if _, err := netip.ParseAddr(a.addr); err != nil {
			p.add("instances."+a.key, "invalid address %q: use an IP like \"0.0.0.0\" or \"127.0.0.1\"", a.addr)
		}
	}
	if in.Parallel < 1 {
		p.add("instances.parallel", "must be at least 1")
	}
	if in.Resync.D() < time.Second {
		p.add("instances.resync", "must be at least 1s")
	}
	if in.Debounce <= 0 {
		p.add("instances.debounce", "must be positive")
	}
	if in.PoolNetworks < 0 || in.PoolNetworks > MaxInstanceID {
		p.add("instances.pool_networks", "must be between 0 and %d", MaxInstanceID)
	}
	if err := ValidName(in.Owner); err != nil {
		p.add("instances.owner", "%v", err)
	}
	if in.StopOnExit && in.StopTimeout.D() < time.Second {
		p.add("instances.stop_timeout", "must be at least 1s")
	}
	for i, port := range in.ReservedPorts {
		if !in.Ports.Contains(port) {
			p.add(fmt.Sprintf("instances.reserved_ports[%d]", i), "port %d is not in instances.ports (%s)", port, in.Ports)
		}
	}
	if r := in.ArchiveRetention.D(); r != 0 && r < MinArchiveRetention {
		p.add("instances.archive_retention", "%s is too short: at least %s, or \"0s\" to keep archives until ctl purge", r, MinArchiveRetention)
	}
	if in.PhpMyAdminConfig != "" && !filepath.IsAbs(in.PhpMyAdminConfig) {
		p.add("instances.phpmyadmin_config", "must be an absolute path (or \"\" to write none)")
	}
	for _, d := range []struct{ key, dir string }{{"projects", in.Projects}, {"host_root", in.HostRoot}, {"host_projects", in.HostProjects}} {
		if d.dir != "" && !filepath.IsAbs(d.dir) {
			p.add("instances."+d.key, "must be an absolute path (or \"\" for none)")
		}
	}
	in.validateNetworks(p)
	in.Timeouts.validate(p)
}

// SetHostPaths sets where the host sees the instances root and the projects folder, as
// WPINIT_HOST_ROOT and WPINIT_HOST_PROJECTS ask (make run passes its folders), each unless
// empty, and checks them as it would check the file's own keys.
func (w *Wpinit) SetHostPaths(root, projects string) error {
	if root != "" {
		w.Instances.HostRoot = root
	}
	if projects != "" {
		w.Instances.HostProjects = projects
	}
	p := &problems{file: "environment (WPINIT_HOST_ROOT, WPINIT_HOST_PROJECTS)"}
	for _, d := range []struct{ key, dir string }{{"host_root", w.Instances.HostRoot}, {"host_projects", w.Instances.HostProjects}} {
		if d.dir != "" && !filepath.IsAbs(d.dir) {
			p.add("instances."+d.key, "must be an absolute path")
		}
	}
	return p.err()
}

// networkNameRE is what Docker accepts as a network name.
var networkNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// MaxBridgePrefix is the longest instances.bridge_prefix: the shared network's bridge,
// PREFIX+"shared", must fit a Linux interface name (15 characters).
const MaxBridgePrefix = 9

var bridgePrefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,8}$`)

// imagePrefixRE is what may start a Docker image reference's name: an optional registry
// host and path, then the start of the repository name ("wp-", "registry:5000/team/wp-").
var imagePrefixRE = regexp.MustCompile(`^([a-z0-9.-]+(:[0-9]+)?/)?([a-z0-9]+([._/-]+[a-z0-9]+)*[._/-]?)?$`)

func (in *Instances) validateNetworks(p *problems) {
	if !networkNameRE.MatchString(in.NetworkPrefix + "1") {
		p.add("instances.network_prefix", "invalid network name prefix %q: letters, digits and _.- only, starting with a letter or digit", in.NetworkPrefix)
	}
	if !networkNameRE.MatchString(in.SharedNetwork) {
		p.add("instances.shared_network", "invalid network name %q: letters, digits and _.- only, starting with a letter or digit", in.SharedNetwork)
	} else if n, ok := strings.CutPrefix(in.SharedNetwork, in.NetworkPrefix); ok && isDigits(n) {
		p.add("instances.shared_network", "%q is the name of an instance network (instances.network_prefix %q)", in.SharedNetwork, in.NetworkPrefix)
	}
	if !bridgePrefixRE.MatchString(in.BridgePrefix) {
		p.add("instances.bridge_prefix", "invalid bridge name prefix %q: 1 to %d lowercase letters and digits, starting with a letter (PREFIX+\"shared\" must fit Linux's 15 characters)", in.BridgePrefix, MaxBridgePrefix)
	}
	if in.ImagePrefix == "" || len(in.ImagePrefix) > 100 || !imagePrefixRE.MatchString(in.ImagePrefix) {
		p.add("instances.image_prefix", "invalid image name prefix %q: lowercase letters, digits and ._-/ (a registry host first if any), at most 100 characters", in.ImagePrefix)
	}
	// Instance N takes the Nth /24: ids up to MaxInstanceID need a /16 or a larger network.
	if in.Subnets.P().Bits() > 16 {
		p.add("instances.subnets", "%s is too small: instance N takes its Nth /24, so give a /16 (or larger)", in.Subnets)
	}
	if in.Subnets.P().Overlaps(in.SharedSubnet.P()) {
		p.add("instances.shared_subnet", "%s overlaps instances.subnets (%s)", in.SharedSubnet, in.Subnets)
	}
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (t *InstanceTimeouts) validate(p *problems) {
	for _, d := range []struct {
		key string
		d   Duration
	}{{"healthy", t.Healthy}, {"install", t.Install}, {"http", t.HTTP}, {"backup", t.Backup}, {"restore", t.Restore}} {
		if d.d <= 0 {
			p.add("instances.timeouts."+d.key, "must be positive")
		}
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

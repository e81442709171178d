package instance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
)

// ContainerName is the name of the instance's container for role: "blog-db".
func ContainerName(instance string, r Role) string { return instance + "-" + string(r) }

// Database name and user every instance uses (in its own database server).
const (
	DBName = "wordpress"
	DBUser = "wordpress"
)

// The ports an instance reaches on its gateway, the wp-dind container (every other one is
// closed to it, docs/operations.md "Isolation"): MailDev's SMTP, and the Xdebug client port
// its PHP connects to (xdebug.client_port of the generated php.ini). WebPort is where its
// web server listens: the port published, and the one shared instances reach each other on.
const (
	SMTPPort   = 1025
	XdebugPort = 9003
	WebPort    = 80
)

// StopTimeout is the grace period, in seconds, of role's container between its stop signal
// and SIGKILL: 30 s for the database (a clean InnoDB shutdown flushes the buffer pool and
// the redo log), 10 s for PHP-FPM and the web server (requests in flight finish).
func StopTimeout(r Role) int {
	if r == RoleDB {
		return 30
	}
	return 10
}

// Options are the machine-wide choices that shape an instance's containers.
type Options struct {
	Owner             string     // value of the owner label
	BindAddress       string     // host address the web port is published on ("0.0.0.0", "127.0.0.1")
	Network           Addressing // the instances' networks and addresses
	BlockExternalHTTP bool       // WORDPRESS_BLOCK_EXTERNAL_HTTP=1 (tests, benchmarks)
	Images            Images     // the image each component runs as
}

// EnvVar is one environment variable. A secret one takes its value from the secrets file
// under the key Secret; docker-compose.yml writes it as ${Secret}, and hashes never see it.
type EnvVar struct {
	Name   string
	Value  string
	Secret string
}

// Mount binds a host folder into the container.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// ContainerSpec is everything wpinit runs for one container. The reconciler turns it into a
// Docker create request; Compose turns it into docker-compose.yml: one model, two outputs.
type ContainerSpec struct {
	Instance    string
	Role        Role
	Name        string
	Image       string
	Component   config.Component
	Env         []EnvVar
	Mounts      []Mount
	Network     string // the instance network
	IP          string // static address on it
	Shared      string // shared network to join as well, "" for none
	HostIP      string // web only: published address
	HostPort    int    // web only: published port -> 80
	CPUs        float64
	Memory      int64
	Pids        int64    // processes and threads, at most (limits.ROLE.pids)
	CapDrop     []string // ALL, then CapAdd: the role's few (privileges.go)
	CapAdd      []string
	SecurityOpt []string // no-new-privileges
	StopSignal  string
	StopTimeout int // seconds
	ExtraHosts  []string
	Labels      map[string]string // ownership, instance, role and hash
	ConfigFile  string            // the generated config file the container reads
	Hash        string            // LabelHash: the definition and the config file's content
}

// hash covers every field that shapes the container and the content of its config file, so
// that any change to either recreates it. Secret values are left out (they never change).
func (c *ContainerSpec) hash(configContent []byte) string {
	h := sha256.New()
	w := func(k string, v any) { fmt.Fprintf(h, "%s=%v\n", k, v) }
	w("name", c.Name)
	w("image", c.Image)
	for _, e := range c.Env {
		if e.Secret != "" {
			w("env."+e.Name, "${"+e.Secret+"}")
		} else {
			w("env."+e.Name, e.Value)
		}
	}
	for _, m := range c.Mounts {
		w("mount", fmt.Sprintf("%s:%s:%v", m.Source, m.Target, m.ReadOnly))
	}
	w("net", c.Network+"/"+c.IP+"/"+c.Shared)
	w("publish", c.HostIP+":"+strconv.Itoa(c.HostPort))
	w("limits", fmt.Sprintf("%g/%d/%d", c.CPUs, c.Memory, c.Pids))
	w("caps", fmt.Sprintf("-%v+%v", c.CapDrop, c.CapAdd))
	w("security", c.SecurityOpt)
	w("stop", c.StopSignal+"/"+strconv.Itoa(c.StopTimeout))
	w("hosts", c.ExtraHosts)
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		if k != docker.LabelHash {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w("label."+k, c.Labels[k])
	}
	_, _ = io.WriteString(h, "config\n")
	_, _ = h.Write(configContent)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Definition is the three containers of an instance, in start order.
type Definition struct {
	Name       string
	ID         int
	Port       int
	Network    string
	Subnet     string
	Shared     string // shared network, "" when the instance does not join it
	Containers []ContainerSpec
}

// Container returns the spec of role.
func (d *Definition) Container(r Role) *ContainerSpec {
	for i := range d.Containers {
		if d.Containers[i].Role == r {
			return &d.Containers[i]
		}
	}
	return nil
}

// build describes the instance's containers; configs maps each role to its config file's
// current content, which enters the hash. born is when the instance's folder was made: it is
// a label, so in the hash too, and containers made for a folder that was since removed and
// made anew (the same name, a new .instance-info) are made again rather than kept.
func build(l Layout, in *config.Instance, o Options, configs map[Role][]byte, born time.Time) Definition {
	net := o.Network.Instance(in.ID)
	d := Definition{Name: in.Name, ID: in.ID, Port: in.Port, Network: net.Name, Subnet: net.Subnet.String()}
	if in.Shared {
		d.Shared = o.Network.SharedNetwork
	}
	for _, r := range Roles {
		c := baseSpec(l, in, o, net, r)
		c.Env = roleEnv(in, o, net, r)
		c.Labels[docker.LabelFolder] = born.UTC().Format(time.RFC3339Nano)
		if r != RoleDB {
			c.Shared = d.Shared // the database never joins the shared network
		}
		content := configs[r]
		if r == RolePHP {
			content = withoutXdebugMode(content)
		}
		c.Hash = c.hash(content)
		c.Labels[docker.LabelHash] = c.Hash
		d.Containers = append(d.Containers, c)
	}
	return d
}

func baseSpec(l Layout, in *config.Instance, o Options, net Network, r Role) ContainerSpec {
	comp := map[Role]config.Component{RoleDB: in.DB, RolePHP: in.PHP, RoleWeb: in.Web}[r]
	limit := map[Role]config.Limit{RoleDB: in.Limits.DB, RolePHP: in.Limits.PHP, RoleWeb: in.Limits.Web}[r]
	c := ContainerSpec{
		Instance: in.Name, Role: r, Name: ContainerName(in.Name, r), Image: o.Images.Ref(comp), Component: comp,
		Network: net.Name, IP: net.IP(r), CPUs: limit.CPUs, Memory: limit.Memory,
		ConfigFile: l.ConfigFile(r, comp),
		Labels: map[string]string{
			docker.LabelManagedBy: docker.ManagedBy, docker.LabelOwner: o.Owner,
			docker.LabelInstance: in.Name, docker.LabelRole: string(r),
		},
	}
	c.confine(limit.Pids)
	c.Mounts = []Mount{
		{Source: l.ConfigDir(comp), Target: "/etc/wp-dind", ReadOnly: true},
		{Source: l.LogDir(comp), Target: "/var/log/wp-dind"},
	}
	switch r {
	case RoleDB:
		c.Mounts = append(c.Mounts, Mount{Source: l.MySQLDir(), Target: "/var/lib/mysql"},
			Mount{Source: l.SnapshotDBDir(), Target: SnapshotMount}) // snapshot.go: where mariadb-backup writes
		c.StopSignal, c.StopTimeout = "SIGTERM", StopTimeout(r)
	case RolePHP:
		c.Mounts = append(c.Mounts, Mount{Source: l.WordPressDir(), Target: DocRoot})
		c.Mounts = append(c.Mounts, codeMounts(in)...)
		c.StopSignal, c.StopTimeout = "SIGQUIT", StopTimeout(r)
		// xdebug.client_host: the gateway, the wp-dind container, whose Xdebug forwarder
		// takes the session on to the IDE (docs/operations.md, "Xdebug").
		c.ExtraHosts = []string{XdebugHost + ":" + net.Gateway()}
	case RoleWeb:
		c.Mounts = append(c.Mounts, Mount{Source: l.WordPressDir(), Target: DocRoot, ReadOnly: true})
		c.Mounts = append(c.Mounts, codeMounts(in)...)
		c.StopSignal, c.StopTimeout = "SIGQUIT", StopTimeout(r)
		if comp.Flavor == config.FlavorApache {
			c.StopSignal = "SIGWINCH"
		}
		c.HostIP, c.HostPort = o.BindAddress, in.Port
	}
	return c
}

func roleEnv(in *config.Instance, o Options, net Network, r Role) []EnvVar {
	switch r {
	case RoleDB:
		p := "MARIADB_"
		if in.DB.Flavor == config.FlavorMySQL {
			p = "MYSQL_"
		}
		return []EnvVar{
			{Name: p + "ROOT_PASSWORD", Secret: SecretDBRoot},
			{Name: p + "DATABASE", Value: DBName},
			{Name: p + "USER", Value: DBUser},
			{Name: p + "PASSWORD", Secret: SecretDB},
			// One malloc arena: each connection's thread otherwise grows an arena of its own
			// that glibc keeps. A MariaDB 11.8 after 2000 10 kB rows read by eight clients
			// held 80.4 MB of anonymous memory, 66.3 MB with one arena; after 100 rounds of
			// a WordPress front page's queries, 50.0 MiB against 47.6 (docker stats).
			{Name: "MALLOC_ARENA_MAX", Value: "1"},
		}
	case RolePHP:
		env := []EnvVar{
			{Name: "WORDPRESS_DB_HOST", Value: net.IP(RoleDB) + ":3306"},
			{Name: "WORDPRESS_DB_NAME", Value: DBName},
			{Name: "WORDPRESS_DB_USER", Value: DBUser},
			{Name: "WORDPRESS_DB_PASSWORD", Secret: SecretDB},
			{Name: "WORDPRESS_BLOCK_EXTERNAL_HTTP", Value: boolEnv(o.BlockExternalHTTP)},
			{Name: "SMTP_HOST", Value: net.Gateway()},
			{Name: "SMTP_PORT", Value: strconv.Itoa(SMTPPort)},
			// PHP-FPM answers its own web server only (and its health check on 127.0.0.1):
			// on the shared network, another instance must not send it FastCGI requests.
			{Name: "PHP_FPM_ALLOWED_CLIENTS", Value: net.IP(RoleWeb)},
		}
		return append(env, namesEnv(in, net)...) // no XDEBUG_MODE: the mode lives in php.ini (xdebug.go)
	}
	return nil
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

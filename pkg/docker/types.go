package docker

import (
	"context"
	"errors"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

// Container is a container as the reconciler sees it in one list call.
type Container struct {
	ID     string
	Name   string // without the leading '/'
	Labels map[string]string
	State  string // created, running, paused, restarting, removing, exited, dead
	Health string // healthy, unhealthy, starting, or "" when the image has no health check
	// Networks are the names of the networks it is attached to, running or not; HostPorts
	// the host ports it publishes while it runs. A new container may take neither while
	// this one holds them.
	Networks  []string
	HostPorts []int
}

// Running reports whether the container is up (or being restarted by its restart policy).
func (c *Container) Running() bool { return c.State == "running" || c.State == "restarting" }

// Network is a network as listed.
type Network struct {
	ID     string
	Name   string
	Subnet string // first IPv4 subnet, "" if none
	Labels map[string]string
}

// NetworkSpec describes a bridge network to create.
type NetworkSpec struct {
	Name    string
	Subnet  string
	Gateway string
	Bridge  string // name of its Linux bridge; "" lets dockerd name it (br-ID)
	Labels  map[string]string
}

// Bind is a host path mounted into a container. It is created as a mount of type bind, not
// as a "source:target" bind string: dockerd then refuses to create or start a container
// whose source is gone, where a bind string would make an empty folder owned by root in its
// place. That matters at dockerd's own start: its restart policy starts a site's old
// containers before wpinit has looked at the folders, and a database started on such an
// empty folder would initialize it with the old container's passwords.
type Bind struct {
	Source   string
	Target   string
	ReadOnly bool
}

// ContainerConfig describes a container to create. The first network is attached at create
// time with its static address; Also are connected after create and before start, which
// works on every API version (a create request takes one network before API 1.44).
type ContainerConfig struct {
	Name          string
	Image         string
	Env           []string
	Mounts        []Bind // host folders and files, each of which must exist
	Labels        map[string]string
	Network       string
	IP            string
	Also          []string // further networks, dynamic addresses
	HostIP        string   // publish ContainerPort on HostIP:HostPort when HostPort != 0
	HostPort      int
	ContainerPort int
	CPUs          float64
	Memory        int64
	Pids          int64 // at most this many processes and threads; 0: the engine's default
	// The container's privileges: CapDrop then CapAdd on the engine's default set, and
	// security options such as "no-new-privileges".
	CapDrop     []string
	CapAdd      []string
	SecurityOpt []string
	StopSignal  string
	StopTimeout int
	ExtraHosts  []string
	// HealthInterval, when set, replaces the interval of the image's HEALTHCHECK (its
	// command, timeout and retries stay); during the start period it checks every
	// HealthStartInterval (API 1.44+; older engines keep the interval).
	HealthInterval, HealthStartInterval time.Duration
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	ExitCode int
	Output   string // Exec: stdout and stderr interleaved; ExecStream: stderr. Its first and last KiB only (KeptHead, KeptTail)
}

// Actions of the container events Events streams.
const (
	ActionCreate       = "create"
	ActionStart        = "start"
	ActionDie          = "die"
	ActionDestroy      = "destroy"
	ActionOOM          = "oom"
	ActionHealthStatus = "health_status"
)

// Event is a container event on an owned container.
type Event struct {
	Action      string // create, start, die, destroy, oom, health_status
	ContainerID string
	Name        string // the container's name
	Instance    string
	Role        string
	Health      string // the new health with health_status: healthy, unhealthy, starting
}

// The engine as each of its consumers needs it: one narrow interface per consumer, all
// implemented by *Client. The list calls cost one request each, whatever the number of
// objects, which keeps a no-op reconcile constant in cost.

// PassEngine is what the reconciler's loop needs: the one listing of owned objects a pass
// makes, the networks it creates and removes, the events that trigger passes, and a ping
// that tells when the engine answers again after its event stream broke.
type PassEngine interface {
	Ping(ctx context.Context) error
	ListContainers(ctx context.Context, owner string) ([]Container, error)
	ListNetworks(ctx context.Context, owner string) ([]Network, error)
	NetworkByName(ctx context.Context, name string) (*Network, error)
	CreateNetwork(ctx context.Context, spec NetworkSpec) (string, error)
	RemoveNetwork(ctx context.Context, id string) error
	Events(ctx context.Context, owner string) (<-chan Event, <-chan error)
}

// InstanceEngine is what the work on one instance needs (the reconciler's worker): its
// containers, their images, and the commands and signals it sends into them.
type InstanceEngine interface {
	ListContainers(ctx context.Context, owner string) ([]Container, error)
	ImageTags(ctx context.Context) (map[string]bool, error)
	ImageIDs(ctx context.Context) (map[string]string, error)
	PullImage(ctx context.Context, ref string) error
	CreateContainer(ctx context.Context, cfg ContainerConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeoutSeconds int) error
	RemoveContainer(ctx context.Context, id string) error
	Exec(ctx context.Context, id, user string, cmd []string) (ExecResult, error)
	ExecStream(ctx context.Context, id string, e ExecIO) (ExecResult, error)
	SignalContainer(ctx context.Context, id, signal string) error
}

// Engine is what a reconciler is made with: its loop's part and its worker's.
type Engine interface {
	PassEngine
	InstanceEngine
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// IsConflict reports whether err says the object is in a conflicting state (a name in use,
// a removal already in progress).
func IsConflict(err error) bool { return cerrdefs.IsConflict(err) }

// ErrNotOwned is returned when a name wpinit must use belongs to an object it does not own.
var ErrNotOwned = errors.New("exists and is not owned by this wpinit")

// ErrAddressInUse marks a start that failed because the static address or the host port
// asked for is in use, most often by a container being removed: it succeeds once that one is
// gone, so it is worth retrying soon rather than after a failure's backoff.
var ErrAddressInUse = errors.New("address or host port in use")

// addressInUse reports whether err is the daemon refusing an address or a host port that
// another endpoint holds. The daemon sends both as plain messages (a 500 with no error type
// to match), so this is the one place that reads them: "Address already in use" from
// libnetwork's IPAM for a static IP, "port is already allocated" from the port mapper.
func addressInUse(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Address already in use") || strings.Contains(msg, "port is already allocated")
}

// healthOf reads the health from a container list entry's status text ("Up 3 minutes
// (healthy)"): API versions before 1.52 have no separate health field in lists.
func healthOf(status string) string {
	for _, h := range []string{"unhealthy", "healthy", "health: starting"} {
		if strings.Contains(status, "("+h+")") {
			return strings.TrimPrefix(h, "health: ")
		}
	}
	return ""
}

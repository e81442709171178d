package reconciler

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// States of an instance in Status.
const (
	StateConverging = "converging" // a task is bringing it to its declaration
	StateRunning    = "running"    // converged: serves 200 from its installed WordPress
	StateFailed     = "failed"     // the last convergence failed; retried on the next pass
	StateRemoving   = "removing"   // gone from the file: stopping and archiving
	StatePending    = "pending"    // declared, not yet handled
)

// fileState is the outcome of the last load of instances.toml.
type fileState struct {
	good   *config.InstancesConfig // last file that loaded; what runs
	err    error                   // the last load's error, nil when it loaded
	errAt  time.Time
	loaded time.Time
}

// instState is what the reconciler knows of one instance between passes.
type instState struct {
	cfg        config.Instance
	prepared   *instance.Prepared
	state      string
	ready      bool // converged and answered 200; a pass with no actions leaves it alone
	answered   bool // the site answered 200 since its containers last started, died or went
	lastErr    string
	errAt      time.Time
	changed    time.Time
	containers []tracked
	failures   int           // consecutive failed convergences
	failKey    string        // definition that failed
	servedKey  string        // definition it last served with: work back to it is a repair
	inUse      bool          // the last failure was an address another container still held
	probe      time.Duration // latency of the last successful probe of the site
}

// Status is the reconciler's view for `ctl status`.
type Status struct {
	File      string              `json:"file"`
	FileError string              `json:"file_error,omitempty"` // with file:line, when the last load failed
	FileLines []FileError         `json:"file_errors,omitempty"`
	LastPass  time.Time           `json:"last_pass"`
	Ready     bool                `json:"ready"`
	Instances []InstanceStatus    `json:"instances"`
	Archived  []instance.Archived `json:"archived,omitempty"`
	Archives  ArchiveUsage        `json:"archives"` // the space Archived takes
}

// FileError is one problem of instances.toml, located.
type FileError struct {
	Key     string `json:"key,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// InstanceStatus is one line of `ctl status`.
type InstanceStatus struct {
	Name      string    `json:"name"`
	ID        int       `json:"id"`
	State     string    `json:"state"`
	URL       string    `json:"url"`
	PHP       string    `json:"php"`
	DB        string    `json:"db"`
	Web       string    `json:"web"`
	Health    string    `json:"health"` // HealthHealthy, HealthStarting, HealthUnhealthy, HealthDown
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
	// ProbeLatency is how long the last HTTP probe of the site that succeeded took (at its
	// last convergence); zero before one did.
	ProbeLatency time.Duration `json:"probe_latency,omitempty"`
	LastBackup   time.Time     `json:"last_backup,omitzero"` // newest archive, scheduled or not
	NextBackup   time.Time     `json:"next_backup,omitzero"` // the next scheduled backup
	Matrix       string        `json:"matrix,omitempty"`     // the [[matrix]] it is a combination of
}

// InstanceDetail is `ctl status NAME`: everything about one instance. Secrets is set only
// when asked for (`--show-secrets`).
type InstanceDetail struct {
	InstanceStatus
	Port       int               `json:"port"`
	Dir        string            `json:"dir"`
	Network    string            `json:"network"`
	Subnet     string            `json:"subnet"`
	Shared     bool              `json:"shared_network"`
	Xdebug     bool              `json:"xdebug"`      // instances.toml's declaration
	XdebugMode string            `json:"xdebug_mode"` // xdebug.mode in php.ini, as the last pass read it
	AdminUser  string            `json:"admin_user"`
	AdminEmail string            `json:"admin_email"`
	Changed    time.Time         `json:"changed,omitzero"`
	KeptFiles  []string          `json:"kept_files,omitempty"` // edited config files whose new default was not applied
	Containers []ContainerStatus `json:"containers"`
	Secrets    *SecretsView      `json:"secrets,omitempty"`
	Data       *DataStatus       `json:"data,omitempty"` // snapshots, origin, backups (data_status.go)
	// PathMappings are the IDE's pairs (host path, container path): the mounted code, then
	// the document root.
	PathMappings []instance.PathMapping `json:"path_mappings,omitempty"`
	Multisite    string                 `json:"multisite,omitempty"`
}

// ContainerStatus is one container of an instance.
type ContainerStatus struct {
	Role   string `json:"role"`
	Name   string `json:"name"`
	ID     string `json:"id"`
	Image  string `json:"image"`
	State  string `json:"state"`
	Health string `json:"health,omitempty"`
	IP     string `json:"ip"`
}

// SecretsView holds an instance's credentials, shown only on request.
type SecretsView struct {
	AdminUser      string `json:"admin_user"`
	AdminPassword  string `json:"admin_password"`
	DBName         string `json:"db_name"`
	DBUser         string `json:"db_user"`
	DBPassword     string `json:"db_password"`
	DBRootPassword string `json:"db_root_password"`
}

// ErrNoInstance is returned by Detail for a name that is not declared.
var ErrNoInstance = errors.New("no such instance")

// Status returns the list view. Safe from any goroutine. The archives are measured outside
// r.mu: a folder not measured yet takes a walk.
func (r *Reconciler) Status() Status {
	s := r.status()
	s.Archived, s.Archives = r.archives.list(r.opt.Root)
	return s
}

func (r *Reconciler) status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Status{File: r.opt.File, LastPass: r.lastPass}
	select {
	case <-r.ready:
		s.Ready = true
	default:
	}
	if r.file.err != nil {
		s.FileError = r.file.err.Error()
		for _, fe := range config.FieldErrors(r.file.err) {
			s.FileLines = append(s.FileLines, FileError{Key: fe.Key, Line: fe.Line, Message: fe.Error()})
		}
	}
	for name, st := range r.inst {
		sum := st.summary()
		sum.LastBackup, sum.NextBackup = r.backupLast[name], r.backupNext[name]
		s.Instances = append(s.Instances, sum)
	}
	sort.Slice(s.Instances, func(i, j int) bool { return s.Instances[i].Name < s.Instances[j].Name })
	return s
}

// Detail returns one instance in full; secrets only when showSecrets.
func (r *Reconciler) Detail(name string, showSecrets bool) (InstanceDetail, error) {
	r.mu.Lock()
	st, ok := r.inst[name]
	var d InstanceDetail
	var p *instance.Prepared
	var from string
	if ok {
		d = st.detail(r.layout(name), r.opt.Network.Instance(st.cfg.ID), r.opt.Images)
		d.LastBackup, d.NextBackup, p, from = r.backupLast[name], r.backupNext[name], st.prepared, st.cfg.From
		d.PathMappings = instance.PathMappings(&st.cfg, r.hostPaths())
	}
	r.mu.Unlock()
	if !ok {
		return d, fmt.Errorf("status of %q: %w", name, ErrNoInstance)
	}
	d.Data = dataStatus(r.layout(name), p, from)
	if showSecrets {
		sec, err := instance.ReadSecrets(r.layout(name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return d, err
		}
		d.Secrets = &SecretsView{
			AdminUser: d.AdminUser, AdminPassword: sec.AdminPassword, DBName: instance.DBName,
			DBUser: instance.DBUser, DBPassword: sec.DBPassword, DBRootPassword: sec.DBRootPassword,
		}
	}
	return d, nil
}

func (st *instState) summary() InstanceStatus {
	c := &st.cfg
	return InstanceStatus{
		Name: c.Name, ID: c.ID, State: st.state, URL: c.URL(), PHP: c.PHP.String(), DB: c.DB.String(),
		Web: c.Web.String(), Health: healthOf(st.containers, st.answered), LastError: st.lastErr, ErrorAt: st.errAt,
		ProbeLatency: st.probe, Matrix: c.Matrix,
	}
}

func (st *instState) detail(l instance.Layout, net instance.Network, images instance.Images) InstanceDetail {
	c := &st.cfg
	d := InstanceDetail{
		InstanceStatus: st.summary(), Port: c.Port, Dir: l.Dir(), Network: net.Name,
		Subnet: net.Subnet.String(), Shared: c.Shared, Xdebug: c.Xdebug, AdminUser: c.AdminUser,
		AdminEmail: c.AdminEmail, Changed: st.changed, Multisite: string(c.Multisite),
	}
	if st.prepared != nil {
		d.KeptFiles, d.XdebugMode = st.prepared.Kept, st.prepared.XdebugMode
	}
	for _, ct := range st.containers {
		if ct.gone {
			continue
		}
		role := instance.Role(ct.Labels[docker.LabelRole])
		d.Containers = append(d.Containers, ContainerStatus{
			Role: string(role), Name: ct.Name, ID: ct.ID, State: ct.State, Health: ct.Health, IP: net.IP(role),
			Image: images.Ref(map[instance.Role]config.Component{instance.RoleDB: c.DB, instance.RolePHP: c.PHP, instance.RoleWeb: c.Web}[role]),
		})
	}
	sort.Slice(d.Containers, func(i, j int) bool { return d.Containers[i].Role < d.Containers[j].Role })
	return d
}

// hostPaths says where the host sees wp-dind's folders, for the IDE's path mappings.
func (r *Reconciler) hostPaths() instance.HostPaths {
	return instance.HostPaths{Root: r.opt.Root, HostRoot: r.opt.HostRoot, Projects: r.opt.Projects, HostProjects: r.opt.HostProjects}
}

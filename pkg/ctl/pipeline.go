package ctl

import "time"

// The wire types of the pipeline's status sections: sysinit, images and instances. They
// mirror the snapshots of pkg/sysinit, pkg/images and pkg/reconciler field for field, with
// the same JSON names; init/ converts, and its tests hold the two against each other.

// SysinitReport is the "sysinit" section: what preparing the container did and skipped.
type SysinitReport struct {
	Steps    []SysinitStep  `json:"steps"`
	Iptables IptablesChoice `json:"iptables"`
}

// SysinitStep is one step of the report; Outcome is done, skipped, warning or failed.
type SysinitStep struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
	Error   string `json:"error,omitempty"`
}

// IptablesChoice is the iptables backend chosen for dockerd and where its links are.
type IptablesChoice struct {
	Backend string `json:"backend,omitempty"` // nft, legacy, or "" when none works
	Reason  string `json:"reason,omitempty"`
	BinDir  string `json:"bin_dir,omitempty"` // first in dockerd's PATH; "" when no backend
}

// TarballState is where a shared tarball is in the loader's pass.
type TarballState string

// Tarball states, in the order a tarball goes through them. Loaded, Skipped and Failed are
// settled.
const (
	TarballPending  TarballState = "pending"
	TarballChecking TarballState = "checking" // reading the manifest, inspecting its tags
	TarballLoading  TarballState = "loading"  // BytesRead of Size sent to dockerd
	TarballLoaded   TarballState = "loaded"
	TarballSkipped  TarballState = "skipped" // every image already present with the same ID
	TarballFailed   TarballState = "failed"  // Error says why
)

// Settled reports whether the tarball has reached a final state.
func (s TarballState) Settled() bool {
	return s == TarballLoaded || s == TarballSkipped || s == TarballFailed
}

// ImagesStatus is the "images" section: the loader's pass over the shared tarballs.
type ImagesStatus struct {
	Dir      string          `json:"dir"`
	Done     bool            `json:"done"` // every tarball settled
	Error    string          `json:"error,omitempty"`
	Started  time.Time       `json:"started,omitzero"`   // the pass began (zero before it runs)
	Duration time.Duration   `json:"duration,omitempty"` // the whole pass, once done
	Tarballs []TarballStatus `json:"tarballs"`

	// Host is the host engine's images, when its socket is mounted.
	Host *HostImagesStatus `json:"host,omitempty"`
}

// TarballStatus is one tarball of the images section.
type TarballStatus struct {
	Name      string        `json:"name"` // file name in the directory
	Size      int64         `json:"size"` // bytes on disk
	State     TarballState  `json:"state"`
	BytesRead int64         `json:"bytes_read"`       // sent to dockerd so far, while loading
	Images    []string      `json:"images,omitempty"` // tags (or IDs) the manifest lists
	Reason    string        `json:"reason,omitempty"` // why it was loaded or skipped
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"` // check plus load, once settled
}

// Percent is how much of a loading tarball dockerd has taken, 0-100.
func (t TarballStatus) Percent() int {
	if t.Size <= 0 {
		return 0
	}
	return int(min(t.BytesRead, t.Size) * 100 / t.Size)
}

// Counts tallies the tarballs by state.
func (s *ImagesStatus) Counts() map[TarballState]int {
	c := map[TarballState]int{}
	for _, t := range s.Tarballs {
		c[t.State]++
	}
	return c
}

// States of an instance in the instances section.
const (
	InstanceConverging = "converging" // being brought to its declaration
	InstanceRunning    = "running"    // converged: serves 200 from its installed WordPress
	InstanceFailed     = "failed"     // the last convergence failed; retried on the next pass
	InstanceRemoving   = "removing"   // gone from the file: stopping and archiving
	InstancePending    = "pending"    // declared, not yet handled
)

// InstancesStatus is the "instances" section: the reconciler's view.
type InstancesStatus struct {
	File      string           `json:"file"`
	FileError string           `json:"file_error,omitempty"` // with file:line, when the last load failed
	FileLines []FileError      `json:"file_errors,omitempty"`
	LastPass  time.Time        `json:"last_pass"`
	Ready     bool             `json:"ready"` // the first pass is done
	Instances []InstanceStatus `json:"instances"`
	Archived  []Archived       `json:"archived,omitempty"`
	Archives  ArchiveUsage     `json:"archives"` // the space Archived takes
}

// FileError is one problem of instances.toml, located.
type FileError struct {
	Key     string `json:"key,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// InstanceStatus is one instance of the instances section.
type InstanceStatus struct {
	Name      string    `json:"name"`
	ID        int       `json:"id"`
	State     string    `json:"state"`
	URL       string    `json:"url"`
	PHP       string    `json:"php"`
	DB        string    `json:"db"`
	Web       string    `json:"web"`
	Health    string    `json:"health"` // healthy, starting, unhealthy, down
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
	// ProbeLatency is how long the last HTTP probe of the site that succeeded took (at its
	// last convergence); zero before one did.
	ProbeLatency time.Duration `json:"probe_latency,omitempty"`
	LastBackup   time.Time     `json:"last_backup,omitzero"` // newest archive, scheduled or not
	NextBackup   time.Time     `json:"next_backup,omitzero"` // the next scheduled backup
	Matrix       string        `json:"matrix,omitempty"`     // the [[matrix]] it is a combination of
}

// Serving reports whether the instance is converged and its containers healthy.
func (i InstanceStatus) Serving() bool { return i.State == InstanceRunning && i.Health == "healthy" }

// Archived is an instance folder moved to the archive.
type Archived struct {
	Name string    `json:"name"`
	Path string    `json:"path"`
	When time.Time `json:"when"`

	Bytes int64 `json:"bytes,omitempty"` // its disk use
}

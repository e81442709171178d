package images

import (
	"io"
	"sync/atomic"
	"time"
)

// State is where a tarball is in the pass.
type State string

// States, in the order a tarball goes through them. Loaded, Skipped and Failed are settled.
const (
	Pending  State = "pending"
	Checking State = "checking" // reading the manifest, inspecting its tags
	Loading  State = "loading"  // ImageLoad running; BytesRead/Size tells how far
	Loaded   State = "loaded"
	Skipped  State = "skipped" // every image already present with the same ID
	Failed   State = "failed"  // Error says why; the other tarballs are not affected
)

// Settled reports whether the tarball has reached a final state.
func (s State) Settled() bool { return s == Loaded || s == Skipped || s == Failed }

// TarballStatus is one tarball, as `wpinit ctl status` shows it.
type TarballStatus struct {
	Name      string        `json:"name"` // file name in the directory
	Size      int64         `json:"size"` // bytes on disk
	State     State         `json:"state"`
	BytesRead int64         `json:"bytes_read"`       // sent to dockerd so far, while loading
	Images    []string      `json:"images,omitempty"` // tags (or IDs) the manifest lists
	Reason    string        `json:"reason,omitempty"` // why it was loaded or skipped
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"` // check plus load, once settled
}

// Status is a snapshot of the loader.
type Status struct {
	Dir      string          `json:"dir"`
	Done     bool            `json:"done"` // every tarball settled (Done() is closed)
	Error    string          `json:"error,omitempty"`
	Started  time.Time       `json:"started,omitzero"`   // the pass began (zero before Run)
	Duration time.Duration   `json:"duration,omitempty"` // the whole pass, once Done: list, checks, loads
	Tarballs []TarballStatus `json:"tarballs"`

	// Host is the host engine's images, when its socket is mounted (host.go).
	Host *HostStatus `json:"host,omitempty"`
}

// Counts tallies the tarballs by state.
func (s Status) Counts() map[State]int {
	c := map[State]int{}
	for _, t := range s.Tarballs {
		c[t.State]++
	}
	return c
}

// tarball is the loader's record of one file; the Loader's mutex guards st, while read is
// updated by the load without the lock.
type tarball struct {
	path  string
	st    TarballStatus
	read  atomic.Int64
	start time.Time
}

// countingReader counts the bytes the Docker client has taken from the file.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

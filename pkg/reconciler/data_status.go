package reconciler

import (
	"fmt"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// DataStatus is the data part of `ctl status NAME`: its snapshots and its origin (its
// backups are in InstanceStatus).
type DataStatus struct {
	Snapshots     int    `json:"snapshots"`
	SnapshotBytes int64  `json:"snapshot_bytes"` // on disk
	From          string `json:"from,omitempty"` // what the instance was created from (instances.toml's from then)
	Seeded        string `json:"seeded,omitempty"`
	// FromNote says why instances.toml's from changes nothing: it applies at creation only.
	FromNote string `json:"from_note,omitempty"`
}

// dataStatus reads the instance's snapshots (a walk of its snapshots folder) and what it was
// created from. Called without r.mu; declared is instances.toml's from.
func dataStatus(l instance.Layout, p *instance.Prepared, declared string) *DataStatus {
	d := &DataStatus{}
	d.Snapshots, d.SnapshotBytes = snapshotsSummary(l)
	if p != nil {
		d.From, d.Seeded = p.Info.From, p.Info.Seeded
	}
	if declared != d.From {
		was := "created empty"
		if d.From != "" {
			was = fmt.Sprintf("created from %q", d.From)
		}
		d.FromNote = fmt.Sprintf("from = %q applies only when an instance is created: this one was %s", declared, was)
	}
	return d
}

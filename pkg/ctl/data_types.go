package ctl

import "time"

// The wire types of the data commands (snapshots, db export and import, --all), mirroring
// the reconciler's values field for field (init/wire_test.go holds their JSON equal).

// DataStatus is the data part of `ctl status NAME`: its snapshots and its origin.
type DataStatus struct {
	Snapshots     int    `json:"snapshots"`
	SnapshotBytes int64  `json:"snapshot_bytes"` // on disk
	From          string `json:"from,omitempty"` // what the instance was created from (instances.toml's from then)
	Seeded        string `json:"seeded,omitempty"`
	// FromNote says why instances.toml's from changes nothing: it applies at creation only.
	FromNote string `json:"from_note,omitempty"`
}

// SnapshotRequest is the body of POST .../snapshots: Label "" takes the time as label.
type SnapshotRequest struct {
	Label string `json:"label,omitempty"`
}

// SnapshotManifest describes a snapshot.
type SnapshotManifest struct {
	Format    int       `json:"format"`
	Instance  string    `json:"instance"`
	Label     string    `json:"label"`
	Created   time.Time `json:"created"`
	URL       string    `json:"url"`
	PHP       string    `json:"php"`
	DB        string    `json:"db"`
	DBVersion string    `json:"db_version"`
	Method    string    `json:"method"` // mariadb-backup, or cold-copy
	Bytes     int64     `json:"bytes"`
	Duration  string    `json:"duration"`
}

// SnapshotResult is the answer to POST .../snapshots.
type SnapshotResult struct {
	Instance string           `json:"instance"`
	Snapshot SnapshotManifest `json:"snapshot"`
	Path     string           `json:"path"`
	Duration time.Duration    `json:"duration"`
}

// SnapshotInfo is one snapshot of GET .../snapshots.
type SnapshotInfo struct {
	SnapshotManifest
	DiskBytes int64 `json:"disk_bytes"`
}

// SnapshotList is the answer to GET .../snapshots, oldest first.
type SnapshotList struct {
	Snapshots []SnapshotInfo `json:"snapshots"`
}

// SnapshotRestoreResult is the answer to POST .../snapshots/{label}/restore.
type SnapshotRestoreResult struct {
	Instance string           `json:"instance"`
	Snapshot SnapshotManifest `json:"snapshot"`
	SetAside string           `json:"set_aside,omitempty"`
	Duration time.Duration    `json:"duration"`
}

// ReplaceResult is what a URL rewrite changed.
type ReplaceResult struct {
	Tables  int      `json:"tables"`
	Rows    int      `json:"rows"`
	Values  int      `json:"values"`
	Skipped []string `json:"skipped,omitempty"`
}

// ImportResult is the answer to POST .../db/import.
type ImportResult struct {
	Instance   string         `json:"instance"`
	Bytes      int64          `json:"bytes"`
	Gzip       bool           `json:"gzip"`
	ReplaceURL string         `json:"replace_url,omitempty"`
	URL        string         `json:"url"`
	Replaced   *ReplaceResult `json:"replaced,omitempty"`
	Duration   time.Duration  `json:"duration"`
}

// AllItem is one instance's line of a --all summary.
type AllItem struct {
	Instance string        `json:"instance"`
	File     string        `json:"file,omitempty"`
	Bytes    int64         `json:"bytes,omitempty"`
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`
}

// AllResult is the answer to POST /v1/backups/all and /v1/restore/all.
type AllResult struct {
	Items    []AllItem     `json:"items"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration"`
}

// ExportErrorTrailer is the trailer of a db export's answer: empty when the dump is whole,
// else why it stopped (the status line was sent before the dump began).
const ExportErrorTrailer = "Wpinit-Export-Error"

package ctl

import "time"

// The wire types of the instance commands. Like the status sections they mirror the
// reconciler's and pkg/backup's values field for field, with the same JSON names.

// InstanceDetail is the answer to GET /v1/instances/{name}: everything about one instance.
// Secrets is set only when asked for (?secrets=1, `--show-secrets`).
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
	Secrets    *Secrets          `json:"secrets,omitempty"`
	Data       *DataStatus       `json:"data,omitempty"` // snapshots and origin (data_types.go)
	// PathMappings are the IDE's pairs (host path, container path): the mounted code, then
	// the document root.
	PathMappings []PathMapping `json:"path_mappings,omitempty"`
	Multisite    string        `json:"multisite,omitempty"`
}

// PathMapping is one pair of an IDE's debugger configuration.
type PathMapping struct {
	Host      string `json:"host"`
	Container string `json:"container"`
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

// Secrets holds an instance's credentials, shown only on request.
type Secrets struct {
	AdminUser      string `json:"admin_user"`
	AdminPassword  string `json:"admin_password"`
	DBName         string `json:"db_name"`
	DBUser         string `json:"db_user"`
	DBPassword     string `json:"db_password"`
	DBRootPassword string `json:"db_root_password"`
}

// XdebugRequest is the body of POST .../xdebug.
type XdebugRequest struct {
	On bool `json:"on"`
}

// XdebugResult is the answer to POST .../xdebug.
type XdebugResult struct {
	Instance    string `json:"instance"`
	Mode        string `json:"mode"`     // xdebug.mode in php.ini now
	Changed     bool   `json:"changed"`  // php.ini was switched (false: it had that mode)
	Reloaded    bool   `json:"reloaded"` // PHP-FPM reloaded and answers with the mode
	ContainerID string `json:"container_id,omitempty"`
}

// BackupResult is the answer to POST .../backup: the archive written.
type BackupResult struct {
	Path      string        `json:"path"`
	Bytes     int64         `json:"bytes"`
	DumpBytes int64         `json:"dump_bytes"`
	Files     int           `json:"files"`
	Duration  time.Duration `json:"duration"`
}

// RestoreRequest is the body of POST .../restore: File is the name of an archive in the
// backups folder (no "/") or an absolute path in the wp-dind container.
type RestoreRequest struct {
	File string `json:"file"`
}

// RestoreResult is the answer to POST .../restore.
type RestoreResult struct {
	Instance string         `json:"instance"`
	File     string         `json:"file"`
	SetAside string         `json:"set_aside"` // where the instance's previous files went
	Manifest BackupManifest `json:"manifest"`
	Duration time.Duration  `json:"duration"`
}

// BackupManifest describes an archive: what it holds and where it comes from.
type BackupManifest struct {
	Format    int       `json:"format"`
	Instance  string    `json:"instance"`
	Created   time.Time `json:"created"`
	ID        int       `json:"id"`
	Port      int       `json:"port"`
	URL       string    `json:"url"`
	PHP       string    `json:"php"`
	DB        string    `json:"db"` // the dump's server: "mariadb 11.8"
	Web       string    `json:"web"`
	Dump      string    `json:"dump"`
	DumpBytes int64     `json:"dump_bytes"`
}

// PurgeResponse lists the archived folders a purge deleted.
type PurgeResponse struct {
	Purged []Archived `json:"purged"`
}

// RestartResult is the answer to POST .../restart: the instance's containers stopped and
// started again, in order, and its site answering.
type RestartResult struct {
	Instance   string        `json:"instance"`
	Containers []string      `json:"containers"` // names, in the order they were started
	Duration   time.Duration `json:"duration"`
}

// BackupArchive is one archive of the backups folder.
type BackupArchive struct {
	Instance string    `json:"instance"`
	Path     string    `json:"path"`
	When     time.Time `json:"when"`
	Bytes    int64     `json:"bytes"`
	// Scheduled: written by a scheduled backup ([backups] schedule), pruned by keep.
	Scheduled bool `json:"scheduled,omitempty"`
}

// BackupList is the answer to GET /v1/backups: the archives, oldest first.
type BackupList struct {
	Archives []BackupArchive `json:"archives"`
}

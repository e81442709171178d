package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Snapshots are physical copies of an instance (instance/snapshot.go): its database's data
// directory, copied by mariadb-backup in the database container while the site serves and
// prepared there at once (so a restore only copies and starts it), or, for a server image
// without mariadb-backup (MySQL), copied cold: the server stopped for the copy. The
// document root, config folders, .instance-info and secrets are copied beside it.

// hotBackupCmd copies the data directory to $1 with mariadb-backup, as the server's user,
// two files at a time (a large site is mostly two: its posts and their meta), then prepares
// the copy (applies the redo log: a data directory that starts as it is).
// Exit 90: the image has no mariadb-backup, the caller copies cold.
const hotBackupCmd = dbAuth + `tool=$(command -v mariadb-backup || command -v mariabackup) || exit 90
"$tool" --backup --parallel=2 --user=root --target-dir="$1" && exec "$tool" --prepare --target-dir="$1"`

const noHotBackup = 90

// SnapshotResult is the outcome of `ctl snapshot NAME [LABEL]`.
type SnapshotResult struct {
	Instance string                    `json:"instance"`
	Snapshot instance.SnapshotManifest `json:"snapshot"`
	Path     string                    `json:"path"`
	Duration time.Duration             `json:"duration"`
}

// Snapshot takes a snapshot of the instance called name, labelled label (its UTC time when
// empty). It runs as the instance's job: never during its convergence or another job.
func (r *Reconciler) Snapshot(ctx context.Context, name, label string) (*SnapshotResult, error) {
	start := time.Now()
	if label == "" {
		label = instance.SnapshotLabel(start)
	}
	if err := instance.ValidLabel(label); err != nil {
		return nil, err
	}
	if err := r.awake(ctx, name, "snapshot"); err != nil {
		return nil, err
	}
	var res *SnapshotResult
	err := r.runJob(ctx, &job{name: name, what: "snapshot", fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		var err error
		res, err = r.work.snapshot(ctx, in, label)
		return outcome{}, err
	}})
	if res != nil {
		res.Duration = time.Since(start)
	}
	return res, err
}

// errNoHotBackup is a hot snapshot's failure on a database image without mariadb-backup.
var errNoHotBackup = errors.New("the database image has no mariadb-backup")

// snapshot takes the snapshot label of the instance: hot, else cold (its database stopped
// for the copy).
func (w *worker) snapshot(ctx context.Context, in config.Instance, label string) (*SnapshotResult, error) {
	return w.takeSnapshot(ctx, in, label, true)
}

// hotSnapshot takes it hot only, else fails with errNoHotBackup: it never stops the
// database of a site that serves.
func (w *worker) hotSnapshot(ctx context.Context, in config.Instance, label string) (*SnapshotResult, error) {
	return w.takeSnapshot(ctx, in, label, false)
}

func (w *worker) takeSnapshot(ctx context.Context, in config.Instance, label string, cold bool) (*SnapshotResult, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Backup)
	defer cancel()
	start := time.Now()
	s := instance.Snapshot{Layout: w.layout(in.Name), Label: label}
	db, err := w.runningContainer(ctx, in.Name, instance.RoleDB)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("snapshot %q: its database container is not running", in.Name)
	}
	if err := instance.PrepareSnapshot(s); err != nil {
		return nil, err
	}
	m, err := w.fillSnapshot(ctx, in, s, db, cold)
	if err != nil {
		_ = instance.DiscardSnapshot(s)
		return nil, fmt.Errorf("snapshot %q: %w", in.Name, err)
	}
	m.Duration = time.Since(start).Round(time.Millisecond).String()
	if err := instance.CompleteSnapshot(s, &m); err != nil {
		_ = instance.DiscardSnapshot(s)
		return nil, err
	}
	w.log.Info("took snapshot", "instance", in.Name, "label", label, "method", m.Method, "bytes", m.Bytes, "duration", time.Since(start))
	return &SnapshotResult{Instance: in.Name, Snapshot: m, Path: s.Dir()}, nil
}

// fillSnapshot copies the database (cold allowed or not), then the files, into the snapshot
// in progress.
func (w *worker) fillSnapshot(ctx context.Context, in config.Instance, s instance.Snapshot, db *docker.Container, cold bool) (instance.SnapshotManifest, error) {
	m := instance.SnapshotManifest{Created: time.Now().UTC(), URL: in.URL(), PHP: in.PHP.String(), DB: in.DB.String()}
	version, err := w.dbVersion(ctx, db.ID)
	if err != nil {
		return m, err
	}
	m.DBVersion = version
	if m.Method, err = w.copyDatabase(ctx, in, s, db, cold); err != nil {
		return m, err
	}
	if err := instance.CopySnapshotFiles(s); err != nil {
		return m, err
	}
	m.Bytes = instance.DiskUsage(s.TmpDir()) + instance.DiskUsage(s.TmpDBDir())
	return m, nil
}

// copyDatabase copies the data directory: hot with mariadb-backup, else cold when cold is
// allowed (errNoHotBackup otherwise).
func (w *worker) copyDatabase(ctx context.Context, in config.Instance, s instance.Snapshot, db *docker.Container, cold bool) (string, error) {
	res, err := w.eng.ExecStream(ctx, db.ID, docker.ExecIO{User: "mysql", Cmd: []string{"sh", "-c", hotBackupCmd, "sh", s.MountedTmpDB()}})
	switch {
	case err != nil:
		return "", err
	case res.ExitCode == 0:
		return instance.SnapshotHot, nil
	case res.ExitCode != noHotBackup:
		return "", fmt.Errorf("mariadb-backup exit %d: %s", res.ExitCode, lastLine(res.Output))
	case !cold:
		return "", errNoHotBackup
	}
	w.log.Info("no mariadb-backup in the database image: copying its data directory cold", "instance", in.Name)
	return instance.SnapshotCold, w.coldCopy(ctx, db, func() error { return instance.CopyDataDir(s.Layout.MySQLDir(), s.TmpDBDir()) })
}

// coldCopy stops the database server (a clean shutdown: its files are consistent), runs
// fn, and starts it again, whatever fn did.
func (w *worker) coldCopy(ctx context.Context, db *docker.Container, fn func() error) error {
	if err := w.eng.StopContainer(ctx, db.ID, instance.StopTimeout(instance.RoleDB)); err != nil {
		return err
	}
	cerr := fn()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opt.timeouts.Healthy)
	defer cancel()
	if err := w.eng.StartContainer(sctx, db.ID); err != nil {
		return errors.Join(cerr, err)
	}
	return errors.Join(cerr, w.waitHealthy(sctx, db.ID, instance.ContainerSpec{Name: db.Name}))
}

// dbVersion is the database server's exact version, as its image reports it.
func (w *worker) dbVersion(ctx context.Context, id string) (string, error) {
	res, err := w.eng.Exec(ctx, id, "", []string{"wp-dind-version"})
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("wp-dind-version exit %d: %s", res.ExitCode, lastLine(res.Output))
	}
	return strings.TrimSpace(res.Output), nil
}

// Snapshots lists the instance's snapshots, oldest first.
func (r *Reconciler) Snapshots(name string) ([]instance.SnapshotInfo, error) {
	if _, ok := r.declared(name); !ok {
		return nil, fmt.Errorf("snapshots of %q: %w", name, ErrNoInstance)
	}
	return instance.ListSnapshots(r.layout(name))
}

// SnapshotRemove deletes one of the instance's snapshots, as its job (never while a restore
// or a clone reads it).
func (r *Reconciler) SnapshotRemove(ctx context.Context, name, label string) error {
	return r.runJob(ctx, &job{name: name, what: "snapshot removal", fn: func(context.Context, config.Instance) (outcome, error) {
		return outcome{}, instance.RemoveSnapshot(instance.Snapshot{Layout: r.layout(name), Label: label})
	}})
}

// snapshotsSummary is the count and disk use of the instance's snapshots, for its status.
func snapshotsSummary(l instance.Layout) (int, int64) {
	list, err := instance.ListSnapshots(l)
	if err != nil {
		return 0, 0
	}
	var n int64
	for _, s := range list {
		n += s.DiskBytes
	}
	return len(list), n
}

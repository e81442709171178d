package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// ErrSnapshotVersion is wrapped when a snapshot's database server is not the instance's.
var ErrSnapshotVersion = errors.New("taken on another database server")

// SnapshotRestoreResult is the outcome of `ctl snapshot restore NAME LABEL`.
type SnapshotRestoreResult struct {
	Instance string                    `json:"instance"`
	Snapshot instance.SnapshotManifest `json:"snapshot"`
	SetAside string                    `json:"set_aside,omitempty"` // set only while it runs, or when it failed past the swap
	Duration time.Duration             `json:"duration"`
}

// SnapshotRestore brings the instance back to its snapshot label. The snapshot is copied
// first, beside the instance (a staging folder on the same file system), while the site
// serves; nothing changes when that fails. Then, with passes kept off the instance, its
// containers go, a restore mark is written, its folders are swapped for the copies (the
// current ones set aside), and it converges on them. When it serves, the set-aside folders
// are deleted and the mark cleared; when it fails, it is rolled back to them; when wpinit is
// killed meanwhile, the next start rolls it back (RecoverRestores). A snapshot of another
// database server (flavour or major.minor) is refused before anything is copied.
func (r *Reconciler) SnapshotRestore(ctx context.Context, name, label string) (*SnapshotRestoreResult, error) {
	start := time.Now()
	in, ok := r.declared(name)
	if !ok {
		return nil, fmt.Errorf("restore snapshot of %q: %w", name, ErrNoInstance)
	}
	s := instance.Snapshot{Layout: r.layout(name), Label: label}
	m, err := checkSnapshot(s, in)
	if err != nil {
		return nil, err
	}
	staged, err := backup.StageDir(ctx, r.opt.Root, name, instance.DiskUsage(s.Dir())+instance.DiskUsage(s.DBDir()))
	if err != nil {
		return nil, err
	}
	res := &SnapshotRestoreResult{Instance: name, Snapshot: m}
	err = r.runJob(ctx, &job{
		name: name, what: "snapshot restore", hold: true, preempt: true, state: true,
		cleanup: func() { _ = staged.Cleanup() },
		fn: func(ctx context.Context, in config.Instance) (outcome, error) {
			return r.work.restoreSnapshot(ctx, in, s, staged, res, func(p *instance.Prepared) { r.setPrepared(in.Name, p) })
		},
	})
	res.Duration = time.Since(start)
	return res, err
}

// checkSnapshot reads the snapshot and refuses one of another server than in's.
func checkSnapshot(s instance.Snapshot, in config.Instance) (instance.SnapshotManifest, error) {
	m, err := instance.ReadSnapshot(s)
	if err != nil {
		return m, err
	}
	if m.DB != in.DB.String() {
		return m, fmt.Errorf("snapshot %q was %w (%s %s), %q runs %s: a data directory starts only on the server that wrote it; move data between versions with ctl db export and ctl db import, or ctl backup and ctl restore",
			s.Label, ErrSnapshotVersion, m.DB, m.DBVersion, in.Name, in.DB)
	}
	return m, nil
}

// restoreSnapshot is the restore as the instance's task, within Timeouts.Restore.
func (w *worker) restoreSnapshot(ctx context.Context, in config.Instance, s instance.Snapshot, staged *backup.Staged, res *SnapshotRestoreResult, prepared func(*instance.Prepared)) (outcome, error) {
	rctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Restore)
	defer cancel()
	if err := stageSnapshot(s, staged.Dir); err != nil {
		return outcome{}, fmt.Errorf("restore snapshot %q of %q: %w", s.Label, in.Name, err)
	}
	out, err := w.swapIn(rctx, in, staged, res, prepared)
	l := w.layout(in.Name)
	if err == nil {
		w.log.Info("restored snapshot", "instance", in.Name, "label", s.Label)
		aside := res.SetAside
		res.SetAside = ""
		return out, errors.Join(instance.ClearRestore(l), instance.RemoveAside(aside))
	}
	if res.SetAside == "" {
		return out, err
	}
	rr := &RestoreResult{SetAside: res.SetAside}
	out, err = w.rollback(ctx, in, staged, rr, prepared, fmt.Errorf("restore snapshot %q of %q: %w", s.Label, in.Name, err))
	res.SetAside = rr.SetAside
	if rr.SetAside == "" { // rolled back: the instance's own folders are in place again
		err = errors.Join(err, instance.ClearRestore(l))
	}
	return out, err
}

// stageSnapshot copies the snapshot into the staging folder, laid out as the instance folder.
func stageSnapshot(s instance.Snapshot, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return err
	}
	for _, p := range []string{instance.PartWordPress, instance.PartConfig, instance.InfoFile, instance.SecretsFile} {
		src := filepath.Join(s.Dir(), p)
		if p == instance.InfoFile || p == instance.SecretsFile {
			if err := instance.CopyOwnFile(src, filepath.Join(dir, p)); err != nil {
				return err
			}
			continue
		}
		if err := instance.CopyPart(p, src, filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	return instance.CopyDataDir(s.DBDir(), filepath.Join(dir, instance.PartMySQL))
}

// swapIn swaps the instance's folders for the staged ones, behind a restore mark, and
// brings it up on them.
func (w *worker) swapIn(ctx context.Context, in config.Instance, staged *backup.Staged, res *SnapshotRestoreResult, prepared func(*instance.Prepared)) (outcome, error) {
	l := w.layout(in.Name)
	if err := w.removeContainers(ctx, in.Name); err != nil {
		return outcome{}, err
	}
	now := time.Now()
	if err := instance.MarkRestore(l, now); err != nil {
		return outcome{}, err
	}
	aside, err := instance.Replace(l, staged.Dir, now)
	res.SetAside = aside
	if err != nil {
		return outcome{}, errors.Join(err, instance.ClearRestore(l))
	}
	p, err := instance.Prepare(w.opt.root, &in, w.opt.instance, time.Now())
	if err != nil {
		return outcome{}, err
	}
	prepared(p)
	return w.startTogether(ctx, &in, p)
}

// startTogether creates and starts the instance's three containers at once, then waits for
// each to be healthy and for the site: a restored instance is installed, and none of its
// containers needs another to start (PHP-FPM and the web server reach the others by their
// fixed addresses when a request comes), so its downtime is the slowest start, not their sum.
func (w *worker) startTogether(ctx context.Context, in *config.Instance, p *instance.Prepared) (outcome, error) {
	acts := make([]Action, 0, len(instance.Roles))
	for _, role := range instance.Roles {
		acts = append(acts, Action{Kind: Create, Instance: in.Name, Role: role, Reason: "snapshot restore"})
	}
	if err := w.ensureImages(ctx, in, p, acts); err != nil {
		return outcome{}, err
	}
	var out outcome
	if p.XdebugReload() {
		// The new PHP container reads php.ini as it is: recorded, so that no pass reloads
		// PHP-FPM (a moment of 502s) right after the restore.
		out.xdebug = p.XdebugMode
	}
	log := w.log.With("instance", in.Name)
	ids := map[instance.Role]string{}
	for _, spec := range p.Def.Containers {
		id, err := w.applyRole(ctx, log, p, spec, acts, nil)
		if err != nil {
			return out, err
		}
		ids[spec.Role] = id
	}
	for _, spec := range p.Def.Containers {
		if err := w.waitHealthy(ctx, ids[spec.Role], spec); err != nil {
			return out, err
		}
	}
	var err error
	out.probe, err = w.waitSite(ctx, in)
	return out, err
}

// recoverInterrupted rolls back the restores a killed wpinit left half done (their marks):
// the instance's containers go, the set-aside folders come back; and removes the snapshots
// it left half taken. At Run's start, before any pass.
func (r *Reconciler) recoverInterrupted(ctx context.Context) {
	names, err := instance.Names(r.opt.Root)
	if err != nil {
		return
	}
	for _, name := range names {
		l := r.layout(name)
		removed, err := instance.SweepSnapshots(l)
		for _, p := range removed {
			r.log.Info("removed an unfinished snapshot", "instance", name, "path", p)
		}
		if err != nil {
			r.log.Warn("failed to remove unfinished snapshots", "instance", name, "error", err)
		}
		if !instance.Restoring(l) {
			continue
		}
		if err := r.recoverRestore(ctx, l); err != nil {
			r.log.Error("failed to roll back an interrupted restore", "instance", name, "error", err)
			continue
		}
		r.log.Warn("rolled back a restore that was interrupted", "instance", name)
	}
}

func (r *Reconciler) recoverRestore(ctx context.Context, l instance.Layout) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.work.removeContainers(cctx, l.Name); err != nil {
		return err
	}
	staged, err := backup.StageDir(ctx, r.opt.Root, l.Name, 0)
	if err != nil {
		return err
	}
	defer func() { _ = staged.Cleanup() }()
	_, err = instance.RecoverRestore(l, staged.Dir)
	return err
}

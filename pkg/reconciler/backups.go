package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// The database client commands run in the database container. The root password comes
// from the container's own environment (MARIADB_ROOT_PASSWORD, or MYSQL_ROOT_PASSWORD for
// the MySQL flavour), so no secret travels in a Docker request or shows in a process list.
const (
	dbAuth = `MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-$MYSQL_ROOT_PASSWORD}"; export MYSQL_PWD; `
	// --single-transaction: one consistent snapshot of the InnoDB tables while the site
	// runs; --quick streams rows instead of buffering each table.
	dumpCmd = dbAuth + `exec "$(command -v mariadb-dump || command -v mysqldump)" --user=root --single-transaction --quick --routines --triggers --hex-blob --default-character-set=utf8mb4 "$1"`
	sqlCmd  = dbAuth + `exec "$(command -v mariadb || command -v mysql)" --user=root --default-character-set=utf8mb4 "$1"`
)

// Backup writes a backup archive of the instance (`ctl backup NAME`) to the root's
// backups/ folder: a dump of its database taken while it runs, and its files. It waits for
// a convergence of the instance in progress, and needs its database container running: an
// asleep instance is woken first.
func (r *Reconciler) Backup(ctx context.Context, name string) (*backup.Result, error) {
	if err := r.awake(ctx, name, "backup"); err != nil {
		return nil, err
	}
	var res *backup.Result
	err := r.runJob(ctx, &job{name: name, what: "backup", fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		var err error
		res, err = r.work.backup(ctx, in)
		return outcome{}, err
	}})
	if err == nil {
		r.setLastBackup(name, time.Now(), false)
	}
	return res, err
}

func (w *worker) backup(ctx context.Context, in config.Instance) (*backup.Result, error) {
	res, err := w.backupAs(ctx, in, backup.FileName(in.Name, time.Now()))
	if err != nil {
		return nil, err
	}
	w.log.Info("backed up instance", "instance", in.Name, "path", res.Path, "bytes", res.Bytes, "duration", res.Duration)
	return res, nil
}

// dumper streams mariadb-dump's output from the database container.
func (w *worker) dumper(id string) backup.Dumper {
	return func(ctx context.Context, out io.Writer) error {
		res, err := w.eng.ExecStream(ctx, id, docker.ExecIO{Cmd: []string{"sh", "-c", dumpCmd, "sh", instance.DBName}, Stdout: out})
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("mariadb-dump exit %d: %s", res.ExitCode, lastLine(res.Output))
		}
		return nil
	}
}

// RestoreResult is the outcome of `ctl restore NAME FILE`.
type RestoreResult struct {
	Instance string          `json:"instance"`
	File     string          `json:"file"`
	SetAside string          `json:"set_aside"` // where the instance's previous files went
	Manifest backup.Manifest `json:"manifest"`
	Duration time.Duration   `json:"duration"`
}

// Restore brings the instance back to the archive FILE (a name in backups/ or an absolute
// path): the archive is checked whole and unpacked first (backup.Stage, within
// backup.DefaultLimits), and nothing changes when it is corrupt, hostile, too large or
// belongs to another instance. Then, with passes kept off the instance: its containers are
// stopped and removed, its files (document root, config, secrets, database files) are set
// aside in the archive folder .archive/NAME-<time>, the archive's files take their place, a
// new database server starts on an empty data folder with the archive's credentials, the
// dump is streamed into it, and the instance converges and serves again. When any of that
// fails after the files were set aside, the instance is rolled back to them (rollback).
//
// The archive's secrets are restored with it: the database is rebuilt with them and the
// restored WordPress admin password matches them, so wp-config (which reads them from the
// environment), the database and `ctl status --show-secrets` agree.
func (r *Reconciler) Restore(ctx context.Context, name, file string) (*RestoreResult, error) {
	start := time.Now()
	if _, ok := r.declared(name); !ok {
		return nil, fmt.Errorf("restore %q: %w", name, ErrNoInstance)
	}
	path, err := backup.Resolve(backup.Dir(r.opt.Root), file)
	if err != nil {
		return nil, err
	}
	defer r.sweep() // what this restore, or an earlier one that crashed, left behind
	staged, err := backup.Stage(ctx, path, name, r.opt.Root, backup.DefaultLimits)
	if err != nil {
		return nil, err
	}
	res := &RestoreResult{Instance: name, File: path, Manifest: staged.Manifest}
	err = r.runJob(ctx, &job{
		name: name, what: "restore", hold: true, preempt: true, state: true,
		cleanup: func() { _ = staged.Cleanup() },
		fn: func(ctx context.Context, in config.Instance) (outcome, error) {
			return r.work.restore(ctx, in, staged, res, func(p *instance.Prepared) { r.setPrepared(in.Name, p) })
		},
	})
	res.Duration = time.Since(start)
	return res, err
}

// restore runs a restore as the instance's task, within Timeouts.Restore. prepared is told
// the instance's new preparation as soon as it exists, for the status.
func (w *worker) restore(ctx context.Context, in config.Instance, staged *backup.Staged, res *RestoreResult, prepared func(*instance.Prepared)) (outcome, error) {
	rctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Restore)
	defer cancel()
	out, err := w.replace(rctx, in, staged, res, prepared)
	if err == nil || res.SetAside == "" {
		return out, err
	}
	return w.rollback(ctx, in, staged, res, prepared, fmt.Errorf("restore %q: %w", in.Name, err))
}

// rollback brings the instance back to the files set aside, after a restore failed past
// instance.Replace (a dump that does not import, a site that does not come up): the
// restore's containers go, its files go to the staging folder (deleted with it), the
// set-aside files and database files come back, and the instance converges on them, within
// a Timeouts.Restore of its own. The error says the restore failed, and how far the
// rollback went.
func (w *worker) rollback(ctx context.Context, in config.Instance, staged *backup.Staged, res *RestoreResult, prepared func(*instance.Prepared), cause error) (outcome, error) {
	log := w.log.With("instance", in.Name)
	log.Warn("restore failed, rolling back", "set_aside", res.SetAside, "error", cause)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute) // the containers' stops
	defer cancel()
	if err := w.removeContainers(fctx, in.Name); err != nil {
		return outcome{}, fmt.Errorf("%w; roll back: %w (the instance's previous files are in %s)", cause, err, res.SetAside)
	}
	if err := instance.Rollback(w.layout(in.Name), res.SetAside, staged.Dir); err != nil {
		return outcome{}, fmt.Errorf("%w; roll back: %w (the instance's previous files are in %s)", cause, err, res.SetAside)
	}
	res.SetAside = ""
	if ctx.Err() != nil { // wpinit stops: the next start converges the instance
		return outcome{}, fmt.Errorf("%w; rolled back the files of %q to before the restore", cause, in.Name)
	}
	cctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Restore)
	defer cancel()
	p, err := instance.Prepare(w.opt.root, &in, w.opt.instance, time.Now())
	if err != nil {
		return outcome{}, fmt.Errorf("%w; rolled back the files of %q, but: %w", cause, in.Name, err)
	}
	prepared(p)
	acts := make([]Action, 0, len(instance.Roles))
	for _, role := range instance.Roles {
		acts = append(acts, Action{Kind: Create, Instance: in.Name, Role: role, Reason: "rollback"})
	}
	out, err := w.converge(cctx, &in, p, acts, nil)
	if err != nil {
		return out, fmt.Errorf("%w; rolled back the files of %q, but it does not come up: %w", cause, in.Name, err)
	}
	log.Info("rolled back restore")
	return out, fmt.Errorf("%w; rolled back: %q serves again as it was before the restore", cause, in.Name)
}

// sweep removes the staging folders and backup temporary files no work uses: at boot
// (what a crash left) and after each restore.
func (r *Reconciler) sweep() {
	removed, err := backup.Sweep(r.opt.Root)
	for _, p := range removed {
		r.log.Info("removed leftover of a restore or backup", "path", p)
	}
	if err != nil {
		r.log.Warn("failed to remove leftovers of restores and backups", "error", err)
	}
}

// ErrDeclared is wrapped when Purge is asked for an instance instances.toml declares.
var ErrDeclared = errors.New("declared in instances.toml")

// Purge deletes the archived folders of name (data included): the only way wpinit
// deletes an instance's data. A declared instance's live folder is never touched, and
// neither are its set-aside folders: they are the copies its restores made, the only way
// back from a bad one. Purge refuses it until it is removed from the file (which archives
// the live folder too); a single set-aside folder can be deleted by hand.
func (r *Reconciler) Purge(name string) ([]instance.Archived, error) {
	r.mu.Lock()
	good := r.file.good
	r.mu.Unlock()
	if good == nil {
		return nil, fmt.Errorf("purge %q: instances.toml has not loaded yet, it may be %w", name, ErrDeclared)
	}
	if _, ok := good.Lookup(name); ok {
		return nil, fmt.Errorf("purge %q: it is %w: its archived folders are what its restores set aside; remove it from the file first, or delete one folder by hand", name, ErrDeclared)
	}
	list, err := instance.Purge(r.opt.Root, name)
	if err != nil {
		return nil, err
	}
	r.log.Info("purged archived instance", "instance", name, "folders", len(list))
	return list, nil
}

// replace sets the instance's files aside, puts the archive's in their place and brings the
// instance up on them.
func (w *worker) replace(ctx context.Context, in config.Instance, staged *backup.Staged, res *RestoreResult, prepared func(*instance.Prepared)) (outcome, error) {
	log := w.log.With("instance", in.Name)
	if err := w.removeContainers(ctx, in.Name); err != nil {
		return outcome{}, err
	}
	aside, err := instance.Replace(w.layout(in.Name), staged.Dir, time.Now())
	res.SetAside = aside
	if err != nil {
		return outcome{}, err
	}
	log.Info("restoring instance", "file", res.File, "set_aside", aside)
	p, err := instance.Prepare(w.opt.root, &in, w.opt.instance, time.Now())
	if err != nil {
		return outcome{}, err
	}
	prepared(p)
	db, err := w.restoreDatabase(ctx, &in, p, staged)
	if err != nil {
		return outcome{}, err
	}
	acts := []Action{{Kind: Create, Instance: in.Name, Role: instance.RolePHP, Reason: "restore"}, {Kind: Create, Instance: in.Name, Role: instance.RoleWeb, Reason: "restore"}}
	return w.converge(ctx, &in, p, acts, []docker.Container{db})
}

// removeContainers stops and removes the instance's containers, web server first.
func (w *worker) removeContainers(ctx context.Context, name string) error {
	cs, err := w.eng.ListContainers(ctx, w.opt.owner)
	if err != nil {
		return err
	}
	for _, role := range stopOrder {
		for _, c := range cs {
			if c.Labels[docker.LabelInstance] == name && c.Labels[docker.LabelRole] == string(role) {
				if err := w.stopRemove(ctx, c.ID, instance.StopTimeout(role)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// restoreDatabase starts a database server on the empty data folder and imports the dump.
func (w *worker) restoreDatabase(ctx context.Context, in *config.Instance, p *instance.Prepared, staged *backup.Staged) (docker.Container, error) {
	spec := *p.Def.Container(instance.RoleDB)
	create := []Action{{Kind: Create, Instance: in.Name, Role: instance.RoleDB, Reason: "restore"}}
	if err := w.ensureImages(ctx, in, p, create); err != nil {
		return docker.Container{}, err
	}
	id, err := w.applyRole(ctx, w.log.With("instance", in.Name), p, spec, create, nil)
	if err != nil {
		return docker.Container{}, err
	}
	if err := w.waitHealthy(ctx, id, spec); err != nil {
		return docker.Container{}, err
	}
	dump, err := os.Open(staged.DumpPath)
	if err != nil {
		return docker.Container{}, fmt.Errorf("open dump: %w", err)
	}
	defer dump.Close()
	if err := w.runSQL(ctx, id, dump); err != nil {
		return docker.Container{}, fmt.Errorf("import dump: %w", err)
	}
	if staged.Manifest.Port != 0 && staged.Manifest.Port != in.Port {
		// WordPress redirects to the address it knows: give it the instance's own.
		q := fmt.Sprintf("UPDATE wp_options SET option_value = '%s' WHERE option_name IN ('siteurl', 'home');\n", in.URL())
		if err := w.runSQL(ctx, id, strings.NewReader(q)); err != nil {
			return docker.Container{}, fmt.Errorf("set site address: %w", err)
		}
	}
	return docker.Container{ID: id, Name: spec.Name, Labels: maps.Clone(spec.Labels), State: "running"}, nil
}

// runSQL streams SQL into the database client as root, in the instance's database.
func (w *worker) runSQL(ctx context.Context, id string, sql io.Reader) error {
	res, err := w.eng.ExecStream(ctx, id, docker.ExecIO{Cmd: []string{"sh", "-c", sqlCmd, "sh", instance.DBName}, Stdin: sql})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("mariadb exit %d: %s", res.ExitCode, lastLine(res.Output))
	}
	return nil
}

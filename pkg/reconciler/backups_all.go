package reconciler

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Every instance at once (`ctl backup --all`, `ctl restore --all`) and on a schedule
// ([backups] schedule and keep). Each backup and restore is the instance's own job, so it is
// consistent (one transaction while the site serves) and never runs during its convergence;
// they run one instance after another.

// AllItem is one instance's line of a --all summary.
type AllItem struct {
	Instance string        `json:"instance"`
	File     string        `json:"file,omitempty"`
	Bytes    int64         `json:"bytes,omitempty"`
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`
}

// AllResult is the summary of `ctl backup --all` or `ctl restore --all`.
type AllResult struct {
	Items    []AllItem     `json:"items"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration"`
}

func (a *AllResult) add(it AllItem, err error) {
	if err != nil {
		it.Error = err.Error()
		a.Failed++
	}
	a.Items = append(a.Items, it)
}

// declaredNames are the instances the file in force declares, in file order; nil (not
// empty) before a file has loaded.
func (r *Reconciler) declaredNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file.good == nil {
		return nil
	}
	names := make([]string, 0, len(r.file.good.Instances))
	for _, in := range r.file.good.Instances {
		names = append(names, in.Name)
	}
	return names
}

// BackupAll backs up every declared instance, one after another; one that fails does not
// stop the others.
func (r *Reconciler) BackupAll(ctx context.Context) (*AllResult, error) {
	start := time.Now()
	res := &AllResult{}
	for _, name := range r.declaredNames() {
		t := time.Now()
		b, err := r.Backup(ctx, name)
		it := AllItem{Instance: name, Duration: time.Since(t)}
		if b != nil {
			it.File, it.Bytes = b.Path, b.Bytes
		}
		res.add(it, err)
		if ctx.Err() != nil {
			break
		}
	}
	res.Duration = time.Since(start)
	return res, ctx.Err()
}

// RestoreAll restores every declared instance from its newest archive in the backups folder
// (scheduled or not), one after another: disaster recovery, on a fresh wp-dind given the
// backups folder and the same instances.toml. An instance with no archive is reported and
// left as it is.
func (r *Reconciler) RestoreAll(ctx context.Context) (*AllResult, error) {
	start := time.Now()
	res := &AllResult{}
	for _, name := range r.declaredNames() {
		t := time.Now()
		list, err := backup.List(backup.Dir(r.opt.Root), name)
		it := AllItem{Instance: name}
		switch {
		case err != nil:
		case len(list) == 0:
			err = fmt.Errorf("no archive of %q in %s", name, backup.Dir(r.opt.Root))
		default:
			newest := list[len(list)-1]
			it.File, it.Bytes = newest.Path, newest.Bytes
			_, err = r.Restore(ctx, name, newest.Path)
		}
		it.Duration = time.Since(t)
		res.add(it, err)
		if ctx.Err() != nil {
			break
		}
	}
	res.Duration = time.Since(start)
	return res, ctx.Err()
}

// scheduledBackup is one scheduled backup of in (woken first when asleep: it sleeps again
// after its sleep_after): an archive marked scheduled, then the
// instance's scheduled archives past Options.BackupKeep pruned, oldest first.
func (r *Reconciler) scheduledBackup(ctx context.Context, name string) error {
	if err := r.awake(ctx, name, "scheduled backup"); err != nil {
		return err
	}
	return r.runJob(ctx, &job{name: name, what: "scheduled backup", fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		res, err := r.work.backupAs(ctx, in, backup.ScheduledFileName(in.Name, time.Now()))
		if err != nil {
			return outcome{}, err
		}
		r.setLastBackup(name, time.Now(), true)
		r.log.Info("scheduled backup", "instance", name, "path", res.Path, "bytes", res.Bytes)
		return outcome{}, r.prune(name)
	}})
}

// prune removes name's oldest scheduled archives past Options.BackupKeep; never another.
func (r *Reconciler) prune(name string) error {
	if r.opt.BackupKeep <= 0 {
		return nil
	}
	list, err := backup.List(backup.Dir(r.opt.Root), name)
	if err != nil {
		return err
	}
	var scheduled []backup.Archive
	for _, a := range list {
		if a.Scheduled && a.Instance == name {
			scheduled = append(scheduled, a)
		}
	}
	for len(scheduled) > r.opt.BackupKeep {
		if err := os.Remove(scheduled[0].Path); err != nil {
			return fmt.Errorf("prune %s: %w", scheduled[0].Path, err)
		}
		r.log.Info("pruned scheduled backup", "instance", name, "path", scheduled[0].Path)
		scheduled = scheduled[1:]
	}
	return nil
}

// runSchedule takes the scheduled backups until ctx ends, one instance at a time: the
// instance whose backup is due first (its last scheduled backup plus the schedule; one
// without waits a schedule from the start), when it is running.
func (r *Reconciler) runSchedule(ctx context.Context) {
	every := r.opt.BackupSchedule
	if every <= 0 {
		return
	}
	r.loadLastBackups()
	start := time.Now()
	for {
		name, due := r.nextScheduled(start, every)
		wait := time.Until(due)
		if name == "" || wait > 5*time.Second {
			wait = min(max(wait, 0), 5*time.Second) // look again: the file may change
			name = ""
		}
		if err := sleep(ctx, wait); err != nil {
			return
		}
		if name == "" {
			continue
		}
		if r.instanceRunning(name) {
			if err := r.scheduledBackup(ctx, name); err != nil && ctx.Err() == nil {
				r.log.Error("failed to take scheduled backup", "instance", name, "error", err)
			}
		}
		r.setNextBackup(name, time.Now().Add(every))
	}
}

// nextScheduled is the declared instance whose scheduled backup is due first, and when.
func (r *Reconciler) nextScheduled(start time.Time, every time.Duration) (string, time.Time) {
	names := r.declaredNames()
	r.mu.Lock()
	defer r.mu.Unlock()
	var name string
	var due time.Time
	for _, n := range names {
		next, ok := r.backupNext[n]
		if !ok {
			next = start.Add(every)
			if last, ok := r.backupSched[n]; ok {
				next = last.Add(every)
			}
			r.backupNext[n] = next
		}
		if name == "" || next.Before(due) {
			name, due = n, next
		}
	}
	return name, due
}

// loadLastBackups reads the backups folder once: each instance's newest archive, and its
// newest scheduled one.
func (r *Reconciler) loadLastBackups() {
	list, err := backup.List(backup.Dir(r.opt.Root), "")
	if err != nil {
		r.log.Warn("failed to list backups", "error", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range list { // oldest first: the last one seen is the newest
		r.backupLast[a.Instance] = a.When
		if a.Scheduled {
			r.backupSched[a.Instance] = a.When
		}
	}
}

// setLastBackup records a backup of name just written (scheduled or not), for the status.
func (r *Reconciler) setLastBackup(name string, t time.Time, scheduled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backupLast[name] = t
	if scheduled {
		r.backupSched[name] = t
	}
}

func (r *Reconciler) setNextBackup(name string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backupNext[name] = t
}

func (r *Reconciler) instanceRunning(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[name]
	return st != nil && st.state == StateRunning
}

// backupAs is a backup under the archive name file.
func (w *worker) backupAs(ctx context.Context, in config.Instance, file string) (*backup.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Backup)
	defer cancel()
	db, err := w.runningContainer(ctx, in.Name, instance.RoleDB)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("back up %q: its database container is not running", in.Name)
	}
	return backup.CreateAs(ctx, w.layout(in.Name), backup.Dir(w.opt.root), file, time.Now(), w.dumper(db.ID), codeTrees(&in)...)
}

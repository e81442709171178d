package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

// The archives of removed instances (ROOT/.archive/NAME-<time>): a removal moves the whole
// folder there, so they grow with every removal until something deletes them. Nothing does
// unless asked: `ctl purge NAME`, `ctl purge --archived [--older-than D]` (PurgeArchived),
// or archive_retention (Options.ArchiveRetention, pruneArchives). A declared instance's
// archived folders are the copies its restores set aside: never deleted here.

// ArchiveUsage is the space the archived folders take.
type ArchiveUsage struct {
	Count   int   `json:"count"`
	Bytes   int64 `json:"bytes"`
	Partial bool  `json:"partial,omitempty"` // a folder was too large to measure whole: Bytes is a lower bound
}

// PurgeSummary is what PurgeArchived deleted, and what it left.
type PurgeSummary struct {
	Purged       []instance.Archived `json:"purged"`
	Bytes        int64               `json:"bytes"`         // freed
	Kept         int                 `json:"kept"`          // archived folders left
	KeptDeclared int                 `json:"kept_declared"` // of them, set aside by restores of instances still declared
}

// The bounds of measuring one archived folder: an instance's folder holds a few thousand
// files (WordPress's core, the database's files).
const (
	archiveMaxEntries = 1_000_000
	archiveMeasure    = 10 * time.Second
)

// archiveSizes caches the size of each archived folder: a removal's archive is never
// written after its move, so one walk per folder is enough. A restore's set-aside folder is
// filled entry by entry: its modification time, kept with the size, tells a folder that
// changed since it was measured. Safe for concurrent use.
type archiveSizes struct {
	mu    sync.Mutex
	bytes map[string]measured // path -> size, only for folders measured whole
}

type measured struct {
	bytes int64
	mtime time.Time
}

// list is the archived folders of root, each with its size, and their total.
func (c *archiveSizes) list(root string) ([]instance.Archived, ArchiveUsage) {
	list, _ := instance.ListArchived(root, "")
	var u ArchiveUsage
	for i := range list {
		n, partial := c.of(list[i].Path)
		list[i].Bytes = n
		u.Count, u.Bytes, u.Partial = u.Count+1, u.Bytes+n, u.Partial || partial
	}
	return list, u
}

func (c *archiveSizes) of(path string) (int64, bool) {
	var mtime time.Time
	if fi, err := os.Stat(path); err == nil {
		mtime = fi.ModTime()
	}
	c.mu.Lock()
	m, ok := c.bytes[path]
	c.mu.Unlock()
	if ok && m.mtime.Equal(mtime) {
		return m.bytes, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), archiveMeasure)
	defer cancel()
	n, partial := resources.DirBytes(ctx, path, archiveMaxEntries)
	if !partial {
		c.mu.Lock()
		if c.bytes == nil {
			c.bytes = map[string]measured{}
		}
		c.bytes[path] = measured{bytes: n, mtime: mtime}
		c.mu.Unlock()
	}
	return n, partial
}

func (c *archiveSizes) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.bytes, path)
}

// selectArchives splits list into the folders a purge deletes and those it keeps: a
// declared instance's are kept, and with olderThan > 0 so are those archived olderThan or
// less before now.
func selectArchives(list []instance.Archived, declared map[string]bool, now time.Time, olderThan time.Duration) (purge, keep []instance.Archived) {
	for _, a := range list {
		if declared[a.Name] || (olderThan > 0 && now.Sub(a.When) <= olderThan) {
			keep = append(keep, a)
			continue
		}
		purge = append(purge, a)
	}
	return purge, keep
}

// errNotLoaded refuses a purge of archives before instances.toml has loaded: which archives
// belong to declared instances is not known yet.
var errNotLoaded = fmt.Errorf("purge archives: instances.toml has not loaded yet, an archive may be %w", ErrDeclared)

// PurgeArchived deletes the archived folders of instances no longer declared, those
// archived more than olderThan ago when olderThan > 0, and says what it freed.
func (r *Reconciler) PurgeArchived(olderThan time.Duration) (PurgeSummary, error) {
	declared, ok := r.declaredSet()
	if !ok {
		return PurgeSummary{}, errNotLoaded
	}
	list, _ := r.archives.list(r.opt.Root)
	purge, keep := selectArchives(list, declared, time.Now(), olderThan)
	sum := PurgeSummary{Purged: []instance.Archived{}, Kept: len(keep)}
	for _, a := range keep {
		if declared[a.Name] {
			sum.KeptDeclared++
		}
	}
	var errs []error
	for _, a := range purge {
		if err := os.RemoveAll(a.Path); err != nil {
			errs = append(errs, fmt.Errorf("purge %s: %w", a.Path, err))
			continue
		}
		r.archives.forget(a.Path)
		sum.Purged, sum.Bytes = append(sum.Purged, a), sum.Bytes+a.Bytes
		r.log.Info("purged archived instance folder", "instance", a.Name, "path", a.Path, "bytes", a.Bytes, "archived", a.When)
	}
	return sum, errors.Join(errs...)
}

// declaredSet is the set of instances the last good instances.toml declares (declaredNames);
// false before one has loaded.
func (r *Reconciler) declaredSet() (map[string]bool, bool) {
	list := r.declaredNames()
	if list == nil {
		return nil, false
	}
	names := make(map[string]bool, len(list))
	for _, name := range list {
		names[name] = true
	}
	return names, true
}

// retentionEvery is how often archive_retention is applied: a quarter of it, between a
// minute and an hour, so that an archive outlives it by at most that much.
func retentionEvery(retention time.Duration) time.Duration {
	return min(max(retention/4, time.Minute), time.Hour)
}

// pruneArchives applies Options.ArchiveRetention until ctx ends: once the first pass is
// done, then every retentionEvery.
func (r *Reconciler) pruneArchives(ctx context.Context) {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return
	}
	tick := time.NewTicker(retentionEvery(r.opt.ArchiveRetention))
	defer tick.Stop()
	for {
		sum, err := r.PurgeArchived(r.opt.ArchiveRetention)
		if err != nil {
			r.log.Error("failed to apply archive_retention", "retention", r.opt.ArchiveRetention, "error", err)
		} else if len(sum.Purged) > 0 {
			r.log.Info("archive_retention applied", "retention", r.opt.ArchiveRetention, "purged", len(sum.Purged), "bytes", sum.Bytes, "kept", sum.Kept)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

package resources

import (
	"context"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"
)

// BackupsKey is the backups folder's key in Disk.Paths; the other keys are instance names.
const BackupsKey = "backups"

// DiskUsage is one disk walk: bytes used under each path, keyed as Disk.Paths keys them.
type DiskUsage struct {
	At      time.Time
	Bytes   map[string]int64
	Partial bool // the walk hit its bound: the figures are lower bounds
}

// Disk walks folders the way du -s does: the blocks of every file, links not followed.
type Disk struct {
	Paths      func() map[string]string // key (an instance's name, "backups") -> folder
	MaxEntries int                      // bound of one walk over every path
	Timeout    time.Duration            // bound of one walk in time
}

// Walk measures every path once. A missing folder counts 0.
func (d *Disk) Walk(ctx context.Context) DiskUsage {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	out := DiskUsage{Bytes: map[string]int64{}}
	left := d.MaxEntries
	for key, dir := range d.Paths() {
		n, partial := du(ctx, dir, &left)
		out.Bytes[key] = n
		out.Partial = out.Partial || partial
	}
	out.At = time.Now()
	return out
}

// du sums the blocks under dir, counting entries down from *left; partial when the count
// or ctx ran out first.
func du(ctx context.Context, dir string, left *int) (int64, bool) {
	var total int64
	partial := false
	_ = filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable or gone meanwhile: skipped
		}
		if *left <= 0 || ctx.Err() != nil {
			partial = true
			return filepath.SkipAll
		}
		*left--
		if fi, err := e.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return total, partial
}

// DirBytes is du -s of one folder, at most maxEntries entries and until ctx ends; partial
// when a bound ran out first (the figure is then a lower bound).
func DirBytes(ctx context.Context, dir string, maxEntries int) (int64, bool) {
	left := maxEntries
	return du(ctx, dir, &left)
}

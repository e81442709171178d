package instance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// A clone (and, later, a site template) is an instance whose first data is a copy of
// another's: a snapshot's data directory and document root, copied into its folder before
// its containers first start. Then the reconciler personalizes it (its own database
// passwords, salts, URL and admin password) and records the seed in .instance-info, so that
// it is never copied again.

// NeedsSeed reports whether the prepared instance was created from another and is not filled yet.
func (p *Prepared) NeedsSeed() bool { return p.Info.From != "" && p.Info.Seeded == "" }

// Seed fills the instance's data/mysql and data/wordpress with copies of the snapshot's (what
// was there before goes: the instance never started on it). Its containers must be gone.
// With move, the snapshot's folders are moved instead (one taken for this instance only:
// seconds saved per gigabyte; copied still when it is on another file system); the caller
// removes the rest of it (DropSnapshot).
func Seed(l Layout, s Snapshot, move bool) error {
	parts := []struct{ name, dst, src string }{
		{mysqlDir, l.MySQLDir(), s.DBDir()},
		{wordpressDir, l.WordPressDir(), filepath.Join(s.Dir(), wordpressDir)},
	}
	// The two parts side by side: a copy is bound by the system calls of its many small files
	// as much as by the disk (a site template, 3 300 files and 60 MB of WordPress and 75 MB of
	// database, took 1.4 to 2.2 s one part after the other).
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() {
			if err := seedPart(part.name, part.src, part.dst, move); err != nil {
				errs[i] = fmt.Errorf("seed %s of %q from %s@%s: %w", part.name, l.Name, s.Layout.Name, s.Label, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// seedPart puts src's tree at dst: moved with move, else (or across file systems) copied
// next to it first, then renamed over it. The folder dst is replaced in one step, whatever
// made it meanwhile (the engine creating a container that mounts it makes a missing one).
func seedPart(part, src, dst string, move bool) error {
	tmp := dst + seedSuffix
	if err := os.RemoveAll(tmp); err != nil { // an earlier cut copy's
		return err
	}
	if move {
		err := replaceDir(src, dst)
		if !errors.Is(err, syscall.EXDEV) {
			return err
		}
	}
	if err := CopyPart(part, src, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return replaceDir(tmp, dst)
}

// seedSuffix names the copy being made next to the folder it replaces.
const seedSuffix = ".seed"

// replaceDir renames the folder from over dst: in one step when dst is missing or an empty
// folder (rename(2) itself: os.Rename refuses any folder there), else after removing it. A
// pass that prepares the instance meanwhile makes dst again, empty.
func replaceDir(from, dst string) error {
	for range 3 {
		err := syscall.Rename(from, dst)
		if !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.ENOTDIR) {
			if err != nil {
				return &os.LinkError{Op: "rename", Old: from, New: dst, Err: err}
			}
			return nil
		}
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	return fmt.Errorf("rename %s over %s: it is made again each time", from, dst)
}

// SnapshotSecrets reads the secrets a snapshot was taken with (the copied data directory
// still has them).
func SnapshotSecrets(s Snapshot) (Secrets, error) {
	return ReadSecrets(Layout{Root: filepath.Dir(s.Dir()), Name: s.Label})
}

// TemplateUnfinished reports whether a start from a site template began (its copy, or its
// personalization) and did not end: the folder holds the template's data, not the site's.
func (p *Prepared) TemplateUnfinished() bool { return p.Info.Templated != "" && p.Info.Seeded == "" }

// SetTemplated records that the instance is being filled from the site template key ("":
// it is not, any more).
func SetTemplated(l Layout, key string) error {
	_, err := updateInfo(l, func(info *Info) { info.Templated = key })
	return err
}

// SetSeeded records that the instance was filled from seed ("SRC@LABEL").
func SetSeeded(l Layout, seed string) error {
	_, err := updateInfo(l, func(info *Info) { info.Seeded = seed })
	return err
}

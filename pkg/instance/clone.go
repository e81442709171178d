package instance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	for _, part := range []struct{ name, dst, src string }{
		{mysqlDir, l.MySQLDir(), s.DBDir()},
		{wordpressDir, l.WordPressDir(), filepath.Join(s.Dir(), wordpressDir)},
	} {
		if err := os.RemoveAll(part.dst); err != nil {
			return fmt.Errorf("seed %q: %w", l.Name, err)
		}
		var err error
		if move {
			err = os.Rename(part.src, part.dst)
		}
		if !move || errors.Is(err, syscall.EXDEV) { // a copy: asked, or across file systems
			err = CopyPart(part.name, part.src, part.dst)
		}
		if err != nil {
			return fmt.Errorf("seed %s of %q from %s@%s: %w", part.name, l.Name, s.Layout.Name, s.Label, err)
		}
	}
	return nil
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

package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
)

// A restore that swaps an instance's folders (Replace) writes a mark first, naming the
// folder the current ones go to, and clears it once the instance serves what it restored.
// A wpinit killed in between leaves the mark: RecoverRestore, at the next start, puts back
// what was set aside, so that a restore killed at any point leaves the instance as it was.

const restoreMark = ".restoring"

type mark struct {
	Aside   string    `json:"aside"`
	Started time.Time `json:"started"`
}

// AsidePath is the folder Replace at now sets the instance's current parts aside in.
func AsidePath(l Layout, now time.Time) string {
	return filepath.Join(l.Root, ArchiveDir, l.Name+"-"+now.UTC().Format(archiveStamp))
}

// MarkRestore records that a restore is about to set the instance's folders aside at
// AsidePath(l, now).
func MarkRestore(l Layout, now time.Time) error {
	data, err := json.Marshal(mark{Aside: AsidePath(l, now), Started: now.UTC()})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(l.path(restoreMark), data, 0o600); err != nil {
		return fmt.Errorf("mark restore of %q: %w", l.Name, err)
	}
	return nil
}

// ClearRestore removes the mark: the restore is over, done or rolled back.
func ClearRestore(l Layout) error {
	err := os.Remove(l.path(restoreMark))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear restore mark of %q: %w", l.Name, err)
	}
	return atomicfile.SyncDir(l.Dir())
}

// Restoring reports whether a restore of the instance was interrupted (its mark is there).
func Restoring(l Layout) bool {
	_, err := os.Lstat(l.path(restoreMark))
	return err == nil
}

// RecoverRestore puts back what an interrupted restore set aside (the instance's
// containers are gone): each part found in the set-aside folder returns to its place, and
// what the restore had put there goes to discard (a folder the caller deletes); a part the
// restore never moved stays. Then the mark is cleared. It returns the set-aside folder.
func RecoverRestore(l Layout, discard string) (string, error) {
	data, err := readFile(l.path(restoreMark))
	if err != nil {
		return "", err
	}
	var m mark
	if err := json.Unmarshal(data, &m); err != nil || filepath.Dir(m.Aside) != filepath.Join(l.Root, ArchiveDir) {
		return "", fmt.Errorf("restore mark of %q: unusable (%s)", l.Name, data)
	}
	for _, p := range replaced {
		if _, err := os.Lstat(filepath.Join(m.Aside, p)); err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(discard, p)), 0o700); err != nil {
			return "", err
		}
		if err := os.Rename(l.path(p), filepath.Join(discard, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("recover %s of %q: %w", p, l.Name, err)
		}
		if err := os.Rename(filepath.Join(m.Aside, p), l.path(p)); err != nil {
			return "", fmt.Errorf("recover %s of %q: %w", p, l.Name, err)
		}
	}
	if err := copyFile(filepath.Join(m.Aside, InfoFile), l.InfoPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := removeAside(m.Aside); err != nil {
		return "", err
	}
	return m.Aside, ClearRestore(l)
}

// RemoveAside deletes a set-aside folder once the restore that made it serves: a
// snapshot restore's (the snapshot is the way back). The folder is renamed at once to a
// name the boot's sweep removes (ROOT/.restore-gone-*), then deleted in the background: a
// data directory of gigabytes takes seconds to delete, which the restore does not wait for.
func RemoveAside(aside string) error {
	if filepath.Base(filepath.Dir(aside)) != ArchiveDir {
		return fmt.Errorf("remove %s: not a set-aside folder", aside)
	}
	root := filepath.Dir(filepath.Dir(aside))
	gone, err := os.MkdirTemp(root, ".restore-gone-")
	if err != nil {
		return err
	}
	if err := os.Rename(aside, filepath.Join(gone, "aside")); err != nil {
		_ = os.Remove(gone)
		return fmt.Errorf("remove %s: %w", aside, err)
	}
	go func() { _ = os.RemoveAll(gone) }()
	return nil
}

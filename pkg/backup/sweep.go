package backup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Staging folders (ROOT/.restore-*) and the temporary files of a backup in progress
// (ROOT/backups/.NAME-*.sql.tmp, .NAME-*.tar.gz.tmp) are removed when their work ends; a
// crash or a kill leaves them behind. Sweep removes those no work of this process uses.

const (
	stagePrefix = ".restore-"
	dumpSuffix  = ".sql.tmp"
	tmpSuffix   = ".tar.gz.tmp"
)

// active holds the staging folders and temporary files in use. Its lock is held while one
// is created and while Sweep runs, so that Sweep never takes one being born.
var active = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

// use creates a staging folder or temporary file with create and records it as in use.
func use[T any](create func() (T, string, error)) (T, error) {
	active.Lock()
	defer active.Unlock()
	v, path, err := create()
	if err == nil {
		active.paths[path] = true
	}
	return v, err
}

// done removes path (a folder with what it holds, or a file) and forgets it.
func done(path string) error {
	err := os.RemoveAll(path)
	active.Lock()
	delete(active.paths, path)
	active.Unlock()
	return err
}

// Sweep removes what staging and backups left behind under the instances root: the
// .restore-* entries of root, and the temporary files of backups/ (never an archive),
// except those in use now. Nothing outside root is touched: a link is removed, not
// followed. It returns what it removed.
func Sweep(root string) ([]string, error) {
	active.Lock()
	defer active.Unlock()
	var removed []string
	var errs []error
	sweep := func(dir string, stale func(fs.DirEntry) bool) {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if !stale(e) || active.paths[path] {
				continue
			}
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, path)
		}
	}
	sweep(root, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), stagePrefix) })
	sweep(Dir(root), func(e fs.DirEntry) bool {
		n := e.Name()
		return !e.IsDir() && strings.HasPrefix(n, ".") && (strings.HasSuffix(n, dumpSuffix) || strings.HasSuffix(n, tmpSuffix))
	})
	return removed, errors.Join(errs...)
}

// createTemp is os.CreateTemp, in use until done.
func createTemp(dir, pattern string) (*os.File, error) {
	return use(func() (*os.File, string, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, "", err
		}
		return f, f.Name(), nil
	})
}

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

// BackupParts are what a backup holds of an instance folder, relative to it: the document
// root, every version's config folder, .instance-info (with the record of generated files)
// and the secrets. Logs, docker-compose.yml (regenerated) and data/mysql (a dump stands for
// it: raw InnoDB files copied while the server runs are not consistent) are left out.
var BackupParts = []string{PartWordPress, PartConfig, InfoFile, SecretsFile}

// The folders among BackupParts, as named in an archive: data/wordpress, config.
const (
	PartWordPress = wordpressDir
	PartConfig    = configDir
)

// replaced are the parts a restore sets aside: the backup's, and data/mysql, which is
// rebuilt from the dump.
var replaced = []string{wordpressDir, mysqlDir, configDir, SecretsFile}

// Replace restores staged content into the instance's folder (its containers are stopped):
// it moves the current document root, database files, config folders and secrets to
// ROOT/.archive/NAME-<UTC time>/ (with a copy of .instance-info; nothing is deleted) and
// moves staged's in their place (data/mysql too when staged has one: a snapshot's). .instance-info stays in place, so the id and port the
// instance holds never change; it takes the backup's record of generated files and of the
// declared Xdebug setting, which describe the restored config files. It returns the folder
// the previous content went to; Rollback brings it back. When setting aside fails, what was
// moved goes back and no folder is returned: nothing changed. staged must be what
// backup.Stage checked (each part of its kind, no link outside data/wordpress), on the same
// file system as the root.
func Replace(l Layout, staged string, now time.Time) (string, error) {
	arch, err := readStagedInfo(staged)
	if err != nil {
		return "", err
	}
	aside := AsidePath(l, now)
	if err := setAside(l, aside); err != nil {
		return "", err
	}
	for _, p := range []string{wordpressDir, configDir, SecretsFile, mysqlDir} {
		if p == mysqlDir { // a snapshot's data directory; a backup's dump is imported instead
			if _, err := os.Lstat(filepath.Join(staged, p)); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(l.path(p)), 0o755); err != nil {
			return aside, fmt.Errorf("restore %s of %q: %w", p, l.Name, err)
		}
		if err := os.Rename(filepath.Join(staged, p), l.path(p)); err != nil {
			return aside, fmt.Errorf("restore %s of %q: %w", p, l.Name, err)
		}
	}
	info, err := ReadInfo(l)
	if err != nil {
		info = arch
		info.Name = l.Name
	}
	info.Generated, info.XdebugDeclared, info.XdebugRunning = arch.Generated, arch.XdebugDeclared, ""
	// The data is the archive's: so is its origin (a clone restored is not seeded again).
	info.From, info.Seeded, info.Templated = arch.From, arch.Seeded, arch.Templated
	if info.Generated == nil {
		info.Generated = map[string]string{}
	}
	return aside, writeInfo(l, info)
}

// setAside moves the replaced parts to aside, a new folder, with a copy of .instance-info.
// On failure it moves back what it moved and removes aside.
func setAside(l Layout, aside string) error {
	if err := os.MkdirAll(filepath.Dir(aside), 0o755); err != nil {
		return fmt.Errorf("set aside instance %q: %w", l.Name, err)
	}
	if err := os.Mkdir(aside, 0o755); err != nil { // never one that holds something already
		return fmt.Errorf("set aside instance %q: %w", l.Name, err)
	}
	if err := os.Mkdir(filepath.Join(aside, "data"), 0o755); err != nil {
		_ = removeAside(aside)
		return fmt.Errorf("set aside instance %q: %w", l.Name, err)
	}
	if err := copyFile(l.InfoPath(), filepath.Join(aside, InfoFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = removeAside(aside)
		return fmt.Errorf("set aside instance %q: %w", l.Name, err)
	}
	for i, p := range replaced {
		err := os.Rename(l.path(p), filepath.Join(aside, p))
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			continue
		}
		for _, q := range replaced[:i] {
			_ = os.Rename(filepath.Join(aside, q), l.path(q))
		}
		_ = removeAside(aside)
		return fmt.Errorf("set aside %s of %q: %w", p, l.Name, err)
	}
	return nil
}

// Rollback undoes a Replace that returned aside, after a restore failed past it: the parts
// the restore put in place (and data/mysql, which its database server filled) move to
// discard, a folder on the same file system that the caller deletes (the staging folder),
// and the set-aside parts and .instance-info come back. The set-aside folder, then empty,
// is removed. The instance is as it was before the restore, files and database files.
func Rollback(l Layout, aside, discard string) error {
	for _, p := range replaced {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(discard, p)), 0o700); err != nil {
			return fmt.Errorf("roll back %s of %q: %w", p, l.Name, err)
		}
		err := os.Rename(l.path(p), filepath.Join(discard, p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("roll back %s of %q: %w", p, l.Name, err)
		}
		err = os.Rename(filepath.Join(aside, p), l.path(p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("roll back %s of %q: %w", p, l.Name, err)
		}
	}
	err := copyFile(filepath.Join(aside, InfoFile), l.InfoPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("roll back %s of %q: %w", InfoFile, l.Name, err)
	}
	return removeAside(aside)
}

// removeAside removes a set-aside folder that holds nothing but its skeleton: never
// anything that was moved into it.
func removeAside(aside string) error {
	for _, p := range []string{InfoFile, "data", ""} {
		err := os.Remove(filepath.Join(aside, p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove set-aside folder: %w", err)
		}
	}
	return nil
}

func readStagedInfo(staged string) (*Info, error) {
	data, err := readFile(filepath.Join(staged, InfoFile))
	if err != nil {
		return nil, fmt.Errorf("read restored instance info: %w", err)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("decode restored instance info: %w", err)
	}
	return &info, nil
}

// copyFile copies one of wpinit's own small files (.instance-info).
func copyFile(src, dst string) error {
	data, err := readFile(src)
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, data, 0o644)
}

package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// BackupParts are what a backup holds of an instance folder, relative to it: the document
// root, every version's config folder, .instance-info (with the record of generated files)
// and the secrets. Logs, docker-compose.yml (regenerated) and data/mysql (a dump stands for
// it: raw InnoDB files copied while the server runs are not consistent) are left out.
var BackupParts = []string{wordpressDir, configDir, InfoFile, SecretsFile}

// replaced are the parts a restore sets aside: the backup's, and data/mysql, which is
// rebuilt from the dump.
var replaced = []string{wordpressDir, mysqlDir, configDir, SecretsFile}

// Replace restores staged content into the instance's folder (its containers are stopped):
// it moves the current document root, database files, config folders and secrets to
// ROOT/.archive/NAME-<UTC time>/ (with a copy of .instance-info; nothing is deleted) and
// moves staged's in their place. .instance-info stays in place, so the id and port the
// instance holds never change; it takes the backup's record of generated files and of the
// declared Xdebug setting, which describe the restored config files. It returns the folder
// the previous content went to. staged must be on the same file system as the root.
func Replace(l Layout, staged string, now time.Time) (string, error) {
	arch, err := readStagedInfo(staged)
	if err != nil {
		return "", err
	}
	aside := filepath.Join(l.Root, ArchiveDir, l.Name+"-"+now.UTC().Format(archiveStamp))
	if err := os.MkdirAll(filepath.Join(aside, "data"), 0o755); err != nil {
		return "", fmt.Errorf("set aside instance %q: %w", l.Name, err)
	}
	if err := copyFile(l.InfoPath(), filepath.Join(aside, InfoFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("set aside instance %q: %w", l.Name, err)
	}
	for _, p := range replaced {
		err := os.Rename(l.path(p), filepath.Join(aside, p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return aside, fmt.Errorf("set aside %s of %q: %w", p, l.Name, err)
		}
	}
	for _, p := range []string{wordpressDir, configDir, SecretsFile} {
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
	if info.Generated == nil {
		info.Generated = map[string]string{}
	}
	return aside, writeInfo(l, info)
}

func readStagedInfo(staged string) (*Info, error) {
	data, err := os.ReadFile(filepath.Join(staged, InfoFile))
	if err != nil {
		return nil, fmt.Errorf("read restored instance info: %w", err)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("decode restored instance info: %w", err)
	}
	return &info, nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

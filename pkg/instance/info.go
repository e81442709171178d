package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/config"
)

// Info is .instance-info: what the instance is, as last prepared, and the hashes of the
// default files wpinit generated (to tell a user's edit from a stale default).
type Info struct {
	Name      string            `json:"name"`
	ID        int               `json:"id"`
	Port      int               `json:"port"`
	URL       string            `json:"url"`
	PHP       string            `json:"php"` // "php 8.4"
	DB        string            `json:"db"`  // "mariadb 11.8"
	Web       string            `json:"web"` // "nginx 1.26"
	Network   string            `json:"network"`
	Subnet    string            `json:"subnet"`
	Created   time.Time         `json:"created"`
	Generated map[string]string `json:"generated"` // path relative to the folder -> sha256 of what wpinit wrote

	// XdebugDeclared is instances.toml's `xdebug` as last written into php.ini: a change of
	// the declaration switches the file, an unchanged one leaves `ctl xdebug`'s choice.
	XdebugDeclared *bool `json:"xdebug_declared,omitempty"`
	// XdebugRunning is the xdebug.mode PHP-FPM last loaded (container start or reload).
	XdebugRunning string `json:"xdebug_running,omitempty"`

	// From is instances.toml's `from` when the folder was created (clone.go); Seeded the
	// snapshot it was filled from, "SRC@LABEL", once that is done.
	From   string `json:"from,omitempty"`
	Seeded string `json:"seeded,omitempty"`
	// Templated is the site template a new site is being filled from, written before the
	// copy; with Seeded still empty, that start was cut off (TemplateUnfinished).
	Templated string `json:"templated,omitempty"`
	// Activated is what wp-dind-activate last applied (activate.go); nil: nothing.
	Activated *Activation `json:"activated,omitempty"`
}

// Slot returns the id and port the instance holds.
func (i *Info) Slot() config.Slot { return config.Slot{ID: i.ID, Port: i.Port} }

// ReadInfo reads the instance's .instance-info.
func ReadInfo(l Layout) (*Info, error) {
	data, err := readFile(l.InfoPath())
	if err != nil {
		return nil, fmt.Errorf("read instance info of %q: %w", l.Name, err)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("decode %s: %w", l.InfoPath(), err)
	}
	return &info, nil
}

// infoMu orders the read-modify-writes of .instance-info files (updateInfo): a pass's
// Prepare and a convergence's SetSeeded on the same file must not undo each other.
var infoMu sync.Mutex

// updateInfo applies fn to the instance's .instance-info as it is on disk now, writes it
// when it changed, and returns it.
func updateInfo(l Layout, fn func(*Info)) (*Info, error) {
	infoMu.Lock()
	defer infoMu.Unlock()
	info, err := ReadInfo(l)
	if err != nil {
		return nil, err
	}
	fn(info)
	return info, writeInfo(l, info)
}

func writeInfo(l Layout, info *Info) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode instance info: %w", err)
	}
	data = append(data, '\n')
	if old, err := readFile(l.InfoPath()); err == nil && string(old) == string(data) {
		return nil
	}
	if err := atomicfile.Write(l.InfoPath(), data, 0o644); err != nil {
		return fmt.Errorf("write instance info of %q: %w", l.Name, err)
	}
	return nil
}

// Held reads the slots (id, port) of every instance folder under root: the values
// config.LoadInstances must keep stable and never hand to another instance. A folder without
// a readable .instance-info holds nothing. A missing root holds nothing.
func Held(root string) (map[string]config.Slot, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]config.Slot{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list instances in %s: %w", root, err)
	}
	held := map[string]config.Slot{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == BackupsDir || config.ValidName(e.Name()) != nil {
			continue
		}
		info, err := ReadInfo(Layout{Root: root, Name: e.Name()})
		if err != nil {
			continue
		}
		held[e.Name()] = info.Slot()
	}
	return held, nil
}

// Names lists the instance folders under root (not the archive).
func Names(root string) ([]string, error) {
	held, err := Held(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range held {
		names = append(names, n)
	}
	return names, nil
}

// Archived is an instance folder moved to the archive.
type Archived struct {
	Name string    `json:"name"`
	Path string    `json:"path"`
	When time.Time `json:"when"`

	Bytes int64 `json:"bytes,omitempty"` // its disk use, once measured (ListArchived does not)
}

const archiveStamp = "20060102T150405Z"

// Archive moves the instance's folder (config, data, logs, secrets) to
// ROOT/.archive/NAME-<UTC time>. Nothing is deleted. It is a no-op when the folder is gone.
func Archive(l Layout, now time.Time) (string, error) {
	if _, err := os.Stat(l.Dir()); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	dir := filepath.Join(l.Root, ArchiveDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create archive folder: %w", err)
	}
	dst := filepath.Join(dir, l.Name+"-"+now.UTC().Format(archiveStamp))
	if err := os.Rename(l.Dir(), dst); err != nil {
		return "", fmt.Errorf("archive instance %q: %w", l.Name, err)
	}
	return dst, nil
}

// ListArchived lists the archived folders of name ("" for all), oldest first.
func ListArchived(root, name string) ([]Archived, error) {
	entries, err := os.ReadDir(filepath.Join(root, ArchiveDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list archive: %w", err)
	}
	var out []Archived
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '-')
		if !e.IsDir() || i < 0 {
			continue
		}
		when, err := time.Parse(archiveStamp, e.Name()[i+1:])
		if err != nil || (name != "" && e.Name()[:i] != name) {
			continue
		}
		out = append(out, Archived{Name: e.Name()[:i], Path: filepath.Join(root, ArchiveDir, e.Name()), When: when})
	}
	return out, nil
}

// Purge deletes every archived folder of name, data included. It returns what it deleted and
// an error wrapping fs.ErrNotExist when there was nothing to purge.
func Purge(root, name string) ([]Archived, error) {
	if err := config.ValidName(name); err != nil {
		return nil, err
	}
	list, err := ListArchived(root, name)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("purge %q: no archived instance of that name: %w", name, fs.ErrNotExist)
	}
	for _, a := range list {
		if err := os.RemoveAll(a.Path); err != nil {
			return nil, fmt.Errorf("purge %s: %w", a.Path, err)
		}
	}
	return list, nil
}

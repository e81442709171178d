package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
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
	info, _, err := readInfo(l)
	return info, err
}

// readInfo reads .instance-info, decoded and as it is on disk. A file that is the one read
// last time (infoCache) is not read again.
func readInfo(l Layout) (*Info, []byte, error) {
	path := l.InfoPath()
	key, keyed := infoKey(path)
	if keyed {
		if c, ok := infoCache.get(path); ok && c.key == key {
			info := c.info.clone()
			return &info, c.raw, nil
		}
	}
	data, err := readFile(path) // a missing file or a link: the error says so
	if err != nil {
		return nil, nil, fmt.Errorf("read instance info of %q: %w", l.Name, err)
	}
	var info Info
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if keyed { // the key is from before the read: a file replaced meanwhile is read again next time
		infoCache.put(path, cachedInfo{key: key, raw: data, info: info.clone()})
	}
	return &info, data, nil
}

// infoCache keeps each .instance-info as last read, by path, with what identifies that
// version of the file. A pass reads every one of them several times (the slots the file
// must keep, twice, and Prepare's read-modify-write), about 400 reads and JSON decodes with
// 99 sites, where a stat each tells that the file is the one read before: wpinit replaces it
// by a rename (a new inode), and an edit by hand changes its size or times.
var infoCache = &infoFiles{m: map[string]cachedInfo{}}

type infoFiles struct {
	mu sync.Mutex
	m  map[string]cachedInfo
}

type cachedInfo struct {
	key  fileKey
	raw  []byte
	info Info
}

func (c *infoFiles) get(path string) (cachedInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[path]
	return e, ok
}

func (c *infoFiles) put(path string, e cachedInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[path] = e
}

// forget drops the entries of the files under dir (an instance folder that moved away).
func (c *infoFiles) forget(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.m {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			delete(c.m, p)
		}
	}
}

// fileKey tells one version of a file from another: its inode and device, size, and
// modification and change times (nanoseconds).
type fileKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// infoKey is the key of the regular file at path (not followed); false when it is not one.
func infoKey(path string) (fileKey, bool) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileKey{}, false
	}
	return keyOf(fi)
}

// keyOf is fi's fileKey; false when the file system gives no inode and times.
func keyOf(fi os.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true
}

// clone is a copy of i that shares nothing with it.
func (i Info) clone() Info {
	c := i
	c.Generated = maps.Clone(i.Generated)
	if i.XdebugDeclared != nil {
		v := *i.XdebugDeclared
		c.XdebugDeclared = &v
	}
	if i.Activated != nil {
		a := *i.Activated
		a.Plugins = slices.Clone(i.Activated.Plugins)
		c.Activated = &a
	}
	return c
}

// infoMu orders the read-modify-writes of .instance-info files (updateInfo): a pass's
// Prepare and a convergence's SetSeeded on the same file must not undo each other.
var infoMu sync.Mutex

// updateInfo applies fn to the instance's .instance-info as it is on disk now, writes it
// when it changed, and returns it.
func updateInfo(l Layout, fn func(*Info)) (*Info, error) {
	infoMu.Lock()
	defer infoMu.Unlock()
	info, raw, err := readInfo(l)
	if err != nil {
		return nil, err
	}
	fn(info)
	return info, writeInfoOver(l, info, raw)
}

func writeInfo(l Layout, info *Info) error {
	_, raw, _ := readInfo(l) // none or an unreadable one: written
	return writeInfoOver(l, info, raw)
}

// writeInfoOver writes info unless the file holds it already (old, as it was read).
func writeInfoOver(l Layout, info *Info, old []byte) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode instance info: %w", err)
	}
	data = append(data, '\n')
	if old != nil && string(old) == string(data) {
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
	infoCache.forget(l.Dir())
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

package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/config"
)

// Snapshots are physical copies of an instance, kept in its own folder (so that they are
// archived with it when it is removed, and purged with it):
//
//	snapshots/LABEL/           manifest.json, data/wordpress, config, .instance-info, .env (0600)
//	snapshots/.db/LABEL/       the database's data directory, ready to start (prepared)
//
// snapshots/.db is the one folder the database container mounts (SnapshotMount), so that
// mariadb-backup writes the copy there while the site serves; the rest is written by wpinit
// only, out of the container's reach. A snapshot in progress is .db/.tmp-LABEL and
// .tmp-LABEL; it exists once LABEL/manifest.json does, the last rename. SweepSnapshots
// removes what a crash left.

// SnapshotMount is where the database container sees snapshots/.db.
const SnapshotMount = "/var/lib/wp-dind-snapshots"

// SnapshotManifestName is the manifest's file name in a snapshot's folder.
const SnapshotManifestName = "manifest.json"

const (
	snapshotsDir = "snapshots"
	snapshotDB   = ".db"
	snapshotTmp  = ".tmp-"
)

// SnapshotsDir is the instance's snapshots folder.
func (l Layout) SnapshotsDir() string { return l.path(snapshotsDir) }

// SnapshotDBDir is snapshots/.db, mounted at SnapshotMount in the database container.
func (l Layout) SnapshotDBDir() string { return l.path(snapshotsDir, snapshotDB) }

// Snapshot names the two folders of one snapshot.
type Snapshot struct {
	Layout Layout
	Label  string
}

// Dir is snapshots/LABEL: the manifest and the files.
func (s Snapshot) Dir() string { return s.Layout.path(snapshotsDir, s.Label) }

// DBDir is snapshots/.db/LABEL: the database's data directory.
func (s Snapshot) DBDir() string { return s.Layout.path(snapshotsDir, snapshotDB, s.Label) }

// TmpDir and TmpDBDir are the folders of the snapshot while it is taken.
func (s Snapshot) TmpDir() string { return s.Layout.path(snapshotsDir, snapshotTmp+s.Label) }
func (s Snapshot) TmpDBDir() string {
	return s.Layout.path(snapshotsDir, snapshotDB, snapshotTmp+s.Label)
}

// MountedTmpDB is TmpDBDir as the database container sees it.
func (s Snapshot) MountedTmpDB() string { return SnapshotMount + "/" + snapshotTmp + s.Label }

// ValidLabel reports why label cannot name a snapshot, or nil.
func ValidLabel(label string) error { return config.ValidSnapshotLabel(label) }

// SnapshotLabel is the label of a snapshot taken at t without one: 20261201-230102.
func SnapshotLabel(t time.Time) string { return t.UTC().Format("20060102-150405") }

// SnapshotManifest describes a snapshot: what it holds and where it comes from. DBVersion is
// the exact server version (wp-dind-version): a data directory starts only on the server
// that wrote it.
type SnapshotManifest struct {
	Format    int       `json:"format"`
	Instance  string    `json:"instance"`
	Label     string    `json:"label"`
	Created   time.Time `json:"created"`
	URL       string    `json:"url"`
	PHP       string    `json:"php"`
	DB        string    `json:"db"`         // "mariadb 11.8"
	DBVersion string    `json:"db_version"` // "11.8.3"
	Method    string    `json:"method"`     // SnapshotHot or SnapshotCold
	Bytes     int64     `json:"bytes"`
	Duration  string    `json:"duration"`
}

// How a snapshot's database was copied.
const (
	SnapshotHot  = "mariadb-backup" // while the server runs, then prepared
	SnapshotCold = "cold-copy"      // the server stopped, its folder copied, started again
)

// SnapshotFormat is the SnapshotManifest.Format this package writes and reads.
const SnapshotFormat = 1

// ErrNoSnapshot is wrapped when a snapshot does not exist.
var ErrNoSnapshot = errors.New("no such snapshot")

// PrepareSnapshot makes the in-progress folders of a new snapshot: snapshots/.db owned by
// the database's user (mariadb-backup runs as it), the rest root's. A snapshot of that label
// must not exist; leftovers of one interrupted are removed first.
func PrepareSnapshot(s Snapshot) error {
	if err := ValidLabel(s.Label); err != nil {
		return err
	}
	if _, err := os.Lstat(s.Dir()); err == nil {
		return fmt.Errorf("snapshot %q of %q exists already", s.Label, s.Layout.Name)
	}
	if err := ensureSnapshotDirs(s.Layout, newDirMaker(s.Layout.Root)); err != nil {
		return err
	}
	for _, d := range []string{s.TmpDir(), s.TmpDBDir()} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove leftover %s: %w", d, err)
		}
	}
	if err := os.Mkdir(s.TmpDir(), 0o700); err != nil {
		return fmt.Errorf("create snapshot folder: %w", err)
	}
	return nil
}

// ensureSnapshotDirs makes snapshots/ (0700: it holds secrets) and snapshots/.db.
func ensureSnapshotDirs(l Layout, dm *dirMaker) error {
	if _, err := dm.ensure(l.SnapshotsDir()); err != nil {
		return fmt.Errorf("create snapshots folder of %q: %w", l.Name, err)
	}
	if err := ensurePerm(l.SnapshotsDir(), 0o700); err != nil {
		return err
	}
	created, err := dm.ensure(l.SnapshotDBDir())
	if err != nil {
		return fmt.Errorf("create snapshots folder of %q: %w", l.Name, err)
	}
	if created && os.Geteuid() == 0 {
		if err := os.Chown(l.SnapshotDBDir(), uidMySQL, uidMySQL); err != nil {
			return err
		}
	}
	return ensurePerm(l.SnapshotDBDir(), 0o700)
}

// ensurePerm gives path the permission bits perm, and leaves it alone when it has them: a
// chmod moves the change time, and an unchanged folder should look unchanged (Preparer).
func ensurePerm(path string, perm os.FileMode) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Mode().Perm() == perm {
		return nil
	}
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}

// CopySnapshotFiles copies the instance's files into the snapshot in progress: the document
// root, the config folders, .instance-info and the secrets (0600).
func CopySnapshotFiles(s Snapshot) error {
	l := s.Layout
	if err := os.MkdirAll(filepath.Join(s.TmpDir(), "data"), 0o700); err != nil {
		return err
	}
	for _, p := range []string{wordpressDir, configDir} {
		if err := CopyTree(l.path(p), filepath.Join(s.TmpDir(), p), treeRules[p]); err != nil {
			return fmt.Errorf("copy %s of %q: %w", p, l.Name, err)
		}
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{InfoFile, 0o600}, {SecretsFile, 0o600}} {
		data, err := readFile(l.path(f.name))
		if err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(s.TmpDir(), f.name), data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// CompleteSnapshot writes the manifest and gives the snapshot its name: the database folder
// first, then the files with the manifest (the snapshot exists from that rename on).
func CompleteSnapshot(s Snapshot, m *SnapshotManifest) error {
	m.Format, m.Instance, m.Label = SnapshotFormat, s.Layout.Name, s.Label
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(s.TmpDir(), SnapshotManifestName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write snapshot manifest: %w", err)
	}
	if err := os.Rename(s.TmpDBDir(), s.DBDir()); err != nil {
		return fmt.Errorf("complete snapshot %q: %w", s.Label, err)
	}
	if err := os.Rename(s.TmpDir(), s.Dir()); err != nil {
		return fmt.Errorf("complete snapshot %q: %w", s.Label, err)
	}
	return atomicfile.SyncDir(s.Layout.SnapshotsDir())
}

// DiscardSnapshot removes a snapshot in progress.
func DiscardSnapshot(s Snapshot) error {
	return errors.Join(os.RemoveAll(s.TmpDir()), os.RemoveAll(s.TmpDBDir()))
}

// ReadSnapshot reads a snapshot's manifest and checks that its database folder is there.
func ReadSnapshot(s Snapshot) (SnapshotManifest, error) {
	var m SnapshotManifest
	if err := ValidLabel(s.Label); err != nil {
		return m, err
	}
	data, err := readFile(filepath.Join(s.Dir(), SnapshotManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("snapshot %q of %q: %w", s.Label, s.Layout.Name, ErrNoSnapshot)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("decode manifest of snapshot %q: %w", s.Label, err)
	}
	if m.Format != SnapshotFormat || m.Label != s.Label {
		return m, fmt.Errorf("snapshot %q of %q: manifest of format %d for %q, this wpinit reads format %d", s.Label, s.Layout.Name, m.Format, m.Label, SnapshotFormat)
	}
	if fi, err := os.Lstat(s.DBDir()); err != nil || !fi.IsDir() {
		return m, fmt.Errorf("snapshot %q of %q has no database folder", s.Label, s.Layout.Name)
	}
	return m, nil
}

// SnapshotInfo is one snapshot as listed: its manifest and what it takes on disk.
type SnapshotInfo struct {
	SnapshotManifest
	DiskBytes int64 `json:"disk_bytes"`
}

// ListSnapshots lists the instance's complete snapshots, oldest first.
func ListSnapshots(l Layout) ([]SnapshotInfo, error) {
	entries, err := os.ReadDir(l.SnapshotsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %q: %w", l.Name, err)
	}
	var out []SnapshotInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s := Snapshot{Layout: l, Label: e.Name()}
		m, err := ReadSnapshot(s)
		if err != nil {
			continue
		}
		out = append(out, SnapshotInfo{SnapshotManifest: m, DiskBytes: DiskUsage(s.Dir()) + DiskUsage(s.DBDir())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// RemoveSnapshot deletes a snapshot: its name first (the manifest's folder), then the rest.
func RemoveSnapshot(s Snapshot) error {
	if _, err := ReadSnapshot(s); err != nil {
		return err
	}
	gone := filepath.Join(s.Layout.SnapshotsDir(), snapshotTmp+s.Label)
	if err := os.RemoveAll(gone); err != nil {
		return err
	}
	if err := os.Rename(s.Dir(), gone); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", s.Label, err)
	}
	return errors.Join(os.RemoveAll(s.DBDir()), os.RemoveAll(gone))
}

// DropSnapshot deletes what is left of a snapshot whose folders a clone moved away (Seed
// with move), whatever state it is in.
func DropSnapshot(s Snapshot) error {
	if err := ValidLabel(s.Label); err != nil {
		return err
	}
	return errors.Join(os.RemoveAll(s.Dir()), os.RemoveAll(s.DBDir()))
}

// SweepSnapshots removes what interrupted snapshots left in the instance's folder: folders
// in progress, and database folders whose snapshot never got its name. It returns what it
// removed.
func SweepSnapshots(l Layout) ([]string, error) {
	var removed []string
	var errs []error
	remove := func(p string) {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			return
		}
		removed = append(removed, p)
	}
	for _, dir := range []string{l.SnapshotsDir(), l.SnapshotDBDir()} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			switch {
			case strings.HasPrefix(e.Name(), snapshotTmp):
				remove(p)
			case dir == l.SnapshotDBDir():
				if _, err := os.Lstat(filepath.Join(l.SnapshotsDir(), e.Name())); errors.Is(err, fs.ErrNotExist) {
					remove(p)
				}
			}
		}
	}
	return removed, errors.Join(errs...)
}

// DiskUsage is what the tree at path takes on disk, in bytes (its blocks, links not followed).
func DiskUsage(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

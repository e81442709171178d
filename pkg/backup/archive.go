package backup

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Names inside an archive.
const (
	ManifestName = "wp-dind-backup.json" // always the first entry
	DumpName     = "database.sql"        // the second: the dump of the instance's database
	Format       = 1                     // Manifest.Format this package writes and reads
	stamp        = "20060102-150405"
)

// Manifest describes an archive: what it holds and where it comes from.
type Manifest struct {
	Format    int       `json:"format"`
	Instance  string    `json:"instance"`
	Created   time.Time `json:"created"`
	ID        int       `json:"id"`
	Port      int       `json:"port"`
	URL       string    `json:"url"`
	PHP       string    `json:"php"`
	DB        string    `json:"db"` // the dump's server: "mariadb 11.8"
	Web       string    `json:"web"`
	Dump      string    `json:"dump"`
	DumpBytes int64     `json:"dump_bytes"`
}

// Dumper writes a dump of the instance's database to w, streaming.
type Dumper func(ctx context.Context, w io.Writer) error

// Result is a written archive.
type Result struct {
	Path      string        `json:"path"`
	Bytes     int64         `json:"bytes"`
	DumpBytes int64         `json:"dump_bytes"`
	Files     int           `json:"files"`
	Duration  time.Duration `json:"duration"`
}

// Dir is the backups folder of an instances root: ROOT/backups.
func Dir(root string) string { return filepath.Join(root, instance.BackupsDir) }

// FileName is the archive name of instance at t: NAME-YYYYmmdd-HHMMSS.tar.gz, in UTC.
func FileName(name string, t time.Time) string {
	return name + "-" + t.UTC().Format(stamp) + ".tar.gz"
}

// scheduledMark marks the archives of scheduled backups: NAME-YYYYmmdd-HHMMSS.scheduled.tar.gz.
// Pruning ([backups] keep) only ever removes archives with it.
const scheduledMark = ".scheduled"

// ScheduledFileName is the archive name of a scheduled backup of instance at t.
func ScheduledFileName(name string, t time.Time) string {
	return name + "-" + t.UTC().Format(stamp) + scheduledMark + ".tar.gz"
}

// ErrFileName is wrapped when a restore's FILE is neither a file name nor an absolute path.
var ErrFileName = errors.New("not a backup file name or an absolute path")

// Resolve names the archive file: a bare file name (no /) is taken in dir, an absolute path
// as it is. A relative path is refused: it would resolve against wpinit's working folder,
// not the caller's (the ctl client makes a path absolute before sending it).
func Resolve(dir, file string) (string, error) {
	switch {
	case file == "" || file == "." || file == "..":
		return "", fmt.Errorf("restore from %q: %w", file, ErrFileName)
	case !strings.ContainsRune(file, '/'):
		return filepath.Join(dir, file), nil
	case !filepath.IsAbs(file):
		return "", fmt.Errorf("restore from %q: %w", file, ErrFileName)
	}
	return filepath.Clean(file), nil
}

// Create writes the backup of the instance l to dir: the dump first (spooled to a temporary
// file in dir, since a tar entry needs its size before its content), then the archive to a
// temporary file that is synced and linked to its final name. Nothing is left behind on
// failure. trees are put in at their names, in place of what the instance folder has there
// (trees.go).
func Create(ctx context.Context, l instance.Layout, dir string, now time.Time, dump Dumper, trees ...Tree) (*Result, error) {
	return CreateAs(ctx, l, dir, FileName(l.Name, now), now, dump, trees...)
}

// CreateAs is Create under the file name file (FileName or ScheduledFileName).
func CreateAs(ctx context.Context, l instance.Layout, dir, file string, now time.Time, dump Dumper, trees ...Tree) (*Result, error) {
	start := time.Now()
	info, err := instance.ReadInfo(l)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create backups folder: %w", err)
	}
	final := filepath.Join(dir, file)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("back up %q: %s exists: %w", l.Name, final, fs.ErrExist)
	}
	sql, size, err := spoolDump(ctx, dir, l.Name, dump)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sql.Close(); _ = done(sql.Name()) }()
	m := Manifest{
		Format: Format, Instance: l.Name, Created: now.UTC(), ID: info.ID, Port: info.Port, URL: info.URL,
		PHP: info.PHP, DB: info.DB, Web: info.Web, Dump: DumpName, DumpBytes: size,
	}
	res := &Result{Path: final, DumpBytes: size}
	if err := writeArchive(ctx, l, dir, final, m, sql, res, trees); err != nil {
		return nil, fmt.Errorf("back up %q: %w", l.Name, err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// spoolDump runs the dumper into a temporary file and returns it rewound, with its size.
func spoolDump(ctx context.Context, dir, name string, dump Dumper) (*os.File, int64, error) {
	f, err := createTemp(dir, "."+name+"-*"+dumpSuffix)
	if err != nil {
		return nil, 0, fmt.Errorf("create dump file: %w", err)
	}
	fail := func(err error) (*os.File, int64, error) {
		_ = f.Close()
		_ = done(f.Name())
		return nil, 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := dump(ctx, w); err != nil {
		return fail(fmt.Errorf("dump database of %q: %w", name, err))
	}
	if err := w.Flush(); err != nil {
		return fail(fmt.Errorf("write dump of %q: %w", name, err))
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fail(fmt.Errorf("rewind dump of %q: %w", name, err))
	}
	return f, size, nil
}

// writeArchive writes manifest, dump and files to a temporary file, then links it as final.
func writeArchive(ctx context.Context, l instance.Layout, dir, final string, m Manifest, sql *os.File, res *Result, trees []Tree) error {
	tmp, err := createTemp(dir, "."+l.Name+"-*"+tmpSuffix)
	if err != nil {
		return fmt.Errorf("create archive: %w", err)
	}
	defer func() { _ = tmp.Close(); _ = done(tmp.Name()) }()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	gz := gzip.NewWriter(bw)
	tw := tar.NewWriter(gz)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	now := m.Created
	if err := addBytes(tw, ManifestName, append(manifest, '\n'), now); err != nil {
		return err
	}
	if err := addReader(tw, DumpName, sql, m.DumpBytes, now); err != nil {
		return err
	}
	skip := map[string]bool{}
	for _, t := range trees {
		skip[t.Name] = true
	}
	for _, part := range instance.BackupParts {
		n, err := addTree(ctx, tw, filepath.Join(l.Dir(), part), part, skip)
		if err != nil {
			return err
		}
		res.Files += n
	}
	for _, t := range trees {
		n, err := addTree(ctx, tw, t.Source, t.Name, nil)
		if err != nil {
			return err
		}
		res.Files += n
	}
	for _, c := range []io.Closer{tw, gz} {
		if err := c.Close(); err != nil {
			return fmt.Errorf("finish archive: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync archive: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil { // it holds the secrets
		return fmt.Errorf("protect archive: %w", err)
	}
	if err := os.Link(tmp.Name(), final); err != nil { // never replaces an existing archive
		return fmt.Errorf("name archive: %w", err)
	}
	st, err := os.Stat(final)
	if err != nil {
		return fmt.Errorf("name archive: %w", err)
	}
	res.Bytes = st.Size()
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync backups folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync backups folder: %w", err)
	}
	return nil
}

func addBytes(tw *tar.Writer, name string, data []byte, mtime time.Time) error {
	return addReader(tw, name, strings.NewReader(string(data)), int64(len(data)), mtime)
}

func addReader(tw *tar.Writer, name string, r io.Reader, size int64, mtime time.Time) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	if _, err := io.CopyN(tw, r, size); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	return nil
}

// addTree adds src (a file or a folder, recursively) under the name part, leaving out the
// names in skip. Folders, regular files and symbolic links are kept with their modes and
// numeric owners.
func addTree(ctx context.Context, tw *tar.Writer, src, part string, skip map[string]bool) (int, error) {
	n := 0
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(part, rel))
		if skip[name] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := addPath(tw, path, name); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("add %s: %w", part, err)
	}
	return n, nil
}

func addPath(tw *tar.Writer, path, name string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	case !fi.Mode().IsRegular() && !fi.IsDir():
		return nil // sockets, pipes, devices: nothing a site needs back
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.Uname, hdr.Gname = name, "", "" // numeric owners: the images' uids
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0) // the site may swap a file for a link meanwhile
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s changed while it was read, back up again: %w", name, err)
	}
	return nil
}

// Archive is a backup file found in the backups folder.
type Archive struct {
	Instance string    `json:"instance"`
	Path     string    `json:"path"`
	When     time.Time `json:"when"`
	Bytes    int64     `json:"bytes"`
	// Scheduled: written by a scheduled backup ([backups] schedule), pruned by keep.
	Scheduled bool `json:"scheduled,omitempty"`
}

// List lists the archives in dir of instance name ("" for all), oldest first.
func List(dir, name string) ([]Archive, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []Archive
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".tar.gz")
		base, scheduled := strings.CutSuffix(base, scheduledMark)
		if !ok || len(base) < len(stamp)+2 || strings.HasPrefix(base, ".") {
			continue
		}
		inst, ts := base[:len(base)-len(stamp)-1], base[len(base)-len(stamp):]
		when, err := time.Parse(stamp, ts)
		if err != nil || (name != "" && inst != name) {
			continue
		}
		a := Archive{Instance: inst, Path: filepath.Join(dir, e.Name()), When: when, Scheduled: scheduled}
		if fi, err := e.Info(); err == nil {
			a.Bytes = fi.Size()
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].When.Before(out[j].When) })
	return out, nil
}

package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// ErrCorrupt is wrapped by every error that says the archive itself is unusable: bad gzip
// data or checksum, a truncated tar, a missing or foreign manifest, an entry outside the
// instance folder.
var ErrCorrupt = errors.New("not a usable wp-dind backup")

// Staged is an archive checked whole and unpacked to a staging folder: the files in their
// places relative to the instance folder, and the dump as a file.
type Staged struct {
	Dir      string
	Manifest Manifest
	DumpPath string
}

// Cleanup removes the staging folder (what Replace did not move away).
func (s *Staged) Cleanup() error { return os.RemoveAll(s.Dir) }

// Stage checks the archive at path and unpacks it into a new folder under stageRoot (on the
// instances root's file system, so that a restore moves files rather than copying them).
// It fails, leaving nothing behind, when the archive is corrupt or belongs to another
// instance than name.
func Stage(ctx context.Context, archive, name, stageRoot string) (*Staged, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	dir, err := os.MkdirTemp(stageRoot, ".restore-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	s := &Staged{Dir: dir}
	if err := s.unpack(ctx, f, name); err != nil {
		_ = s.Cleanup()
		return nil, fmt.Errorf("read backup %s: %w", filepath.Base(archive), err)
	}
	return s, nil
}

func (s *Staged) unpack(ctx context.Context, r io.Reader, name string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	tr := tar.NewReader(gz)
	x := extractor{dir: s.Dir, links: map[string]bool{}}
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == 0 {
			if err := s.readManifest(hdr, tr, name); err != nil {
				return err
			}
			continue
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	// The tar end marker comes before gzip's checksum: read on to have it checked.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return s.complete()
}

func (s *Staged) readManifest(hdr *tar.Header, r io.Reader, name string) error {
	if hdr.Name != ManifestName {
		return fmt.Errorf("%w: first entry is %q, not %s", ErrCorrupt, hdr.Name, ManifestName)
	}
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := json.Unmarshal(data, &s.Manifest); err != nil {
		return fmt.Errorf("%w: manifest: %w", ErrCorrupt, err)
	}
	switch m := s.Manifest; {
	case m.Format != Format:
		return fmt.Errorf("%w: format %d, this wpinit reads %d", ErrCorrupt, m.Format, Format)
	case m.Instance != name:
		return fmt.Errorf("the archive holds instance %q, not %q: restore it into %q", m.Instance, name, m.Instance)
	}
	return nil
}

// complete checks that the dump and every part of the instance folder were there.
func (s *Staged) complete() error {
	s.DumpPath = filepath.Join(s.Dir, DumpName)
	st, err := os.Stat(s.DumpPath)
	if err != nil {
		return fmt.Errorf("%w: no %s", ErrCorrupt, DumpName)
	}
	if st.Size() != s.Manifest.DumpBytes {
		return fmt.Errorf("%w: %s has %d bytes, the manifest says %d", ErrCorrupt, DumpName, st.Size(), s.Manifest.DumpBytes)
	}
	for _, p := range instance.BackupParts {
		if _, err := os.Lstat(filepath.Join(s.Dir, p)); err != nil {
			return fmt.Errorf("%w: no %s", ErrCorrupt, p)
		}
	}
	return nil
}

// extractor writes entries under dir, refusing any that would land outside it: names are
// checked, and no entry is written through a symbolic link the archive made.
type extractor struct {
	dir   string
	links map[string]bool
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	name, err := x.check(hdr.Name)
	if err != nil {
		return err
	}
	dst := filepath.Join(x.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(dst, mode); err != nil && !os.IsExist(err) {
			return err
		}
		if err := os.Chmod(dst, mode); err != nil {
			return err
		}
	case tar.TypeReg:
		if err := writeFile(dst, r, hdr.Size, mode); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, dst); err != nil {
			return err
		}
		x.links[name] = true
	default:
		return fmt.Errorf("%w: %s: unsupported entry type %q", ErrCorrupt, hdr.Name, hdr.Typeflag)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(dst, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeReg {
		return os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
	}
	return nil
}

// check returns the entry's clean name, or why it may not be written.
func (x *extractor) check(raw string) (string, error) {
	name := path.Clean(strings.TrimSuffix(raw, "/"))
	if path.IsAbs(name) || name == "." || name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("%w: entry %q leaves the instance folder", ErrCorrupt, raw)
	}
	allowed := name == DumpName
	for _, p := range instance.BackupParts {
		allowed = allowed || name == p || strings.HasPrefix(name, p+"/")
	}
	if !allowed {
		return "", fmt.Errorf("%w: entry %q is not part of an instance backup", ErrCorrupt, raw)
	}
	for dir := name; dir != "."; dir = path.Dir(dir) { // the entry itself, then its parents
		if x.links[dir] {
			return "", fmt.Errorf("%w: entry %q goes through a symbolic link", ErrCorrupt, raw)
		}
	}
	return name, nil
}

func writeFile(dst string, r io.Reader, size int64, mode os.FileMode) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := f.Chmod(mode); err != nil { // the umask narrowed it
		_ = f.Close()
		return err
	}
	return f.Close()
}

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
	"path/filepath"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// ErrCorrupt is wrapped by every error that says the archive itself is unusable: bad gzip
// data or checksum, a truncated tar, a missing or foreign manifest, an entry outside the
// instance folder or not of the kind its name must be, a link that leaves data/wordpress.
var ErrCorrupt = errors.New("not a usable wp-dind backup")

// ErrTooLarge is wrapped when an archive would make staging write more than its Limits.
var ErrTooLarge = errors.New("too large to restore")

// Staged is an archive checked whole and unpacked to a staging folder: the files in their
// places relative to the instance folder, and the dump as a file.
type Staged struct {
	Dir      string
	Manifest Manifest
	DumpPath string
}

// Cleanup removes the staging folder (what Replace did not move away).
func (s *Staged) Cleanup() error { return done(s.Dir) }

// stagingSlot lets one staging run at a time: each counts the free space it may use, and
// two at once would count the same bytes twice.
var stagingSlot = make(chan struct{}, 1)

// Stage checks the archive at path and unpacks it into a new folder under stageRoot (on the
// instances root's file system, so that a restore moves files rather than copying them),
// within lim and the free space of stageRoot (see Limits). Every entry is checked before it
// is written (see part), and the links once all are known. It fails, leaving nothing
// behind, with a one-line error naming the entry, when the archive is corrupt, hostile, too
// large, or belongs to another instance than name.
func Stage(ctx context.Context, archive, name, stageRoot string, lim Limits) (*Staged, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open backup: %s is not a file", archive)
	}
	select {
	case stagingSlot <- struct{}{}:
		defer func() { <-stagingSlot }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	total, why, err := budget(stageRoot, lim)
	if err != nil {
		return nil, err
	}
	dir, err := use(func() (string, string, error) {
		d, err := os.MkdirTemp(stageRoot, stagePrefix+name+"-")
		return d, d, err
	})
	if err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	s := &Staged{Dir: dir}
	if err := s.unpack(ctx, f, name, lim, total, why); err != nil {
		_ = s.Cleanup()
		return nil, fmt.Errorf("read backup %s: %w", filepath.Base(archive), err)
	}
	return s, nil
}

func (s *Staged) unpack(ctx context.Context, r io.Reader, name string, lim Limits, total int64, why string) error {
	root, err := os.OpenRoot(s.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	x := &extractor{root: root, lim: lim, total: total, left: total, why: why, links: map[string]string{}}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	tr := tar.NewReader(gz)
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
			if err := s.readManifest(hdr, tr, name, x); err != nil {
				return err
			}
			continue
		}
		if err := x.entry(ctx, hdr, tr); err != nil {
			return err
		}
	}
	// The tar end marker comes before gzip's checksum: read on, a little, to have it checked.
	n, err := io.CopyN(io.Discard, gz, maxTrailing+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if n > maxTrailing {
		return fmt.Errorf("%w: more than %d bytes after the end of the archive", ErrCorrupt, maxTrailing)
	}
	return s.complete(x)
}

func (s *Staged) readManifest(hdr *tar.Header, r io.Reader, name string, x *extractor) error {
	if hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg || hdr.Size > maxManifest {
		return fmt.Errorf("%w: first entry is %q, not the manifest %s", ErrCorrupt, hdr.Name, ManifestName)
	}
	data, err := io.ReadAll(r)
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
	return x.declare(s.Manifest.DumpBytes)
}

// complete checks that the dump and every part of the instance folder are there, each of
// its kind, and that every link stays inside data/wordpress now that all are known.
func (s *Staged) complete(x *extractor) error {
	if s.Manifest.Format == 0 {
		return fmt.Errorf("%w: no manifest", ErrCorrupt)
	}
	if err := x.checkLinks(); err != nil {
		return err
	}
	s.DumpPath = filepath.Join(s.Dir, DumpName)
	for _, p := range []string{DumpName, instance.PartWordPress, instance.PartConfig, instance.InfoFile, instance.SecretsFile} {
		fi, err := x.root.Lstat(p)
		if err != nil {
			return fmt.Errorf("%w: no %s", ErrCorrupt, p)
		}
		if want := x.partOf(p).kinds; !strings.ContainsRune(want, rune(kindOfMode(fi.Mode()))) {
			return fmt.Errorf("%w: %s is a %s, it must be %s", ErrCorrupt, p, kindName(kindOfMode(fi.Mode())), kindsName(want))
		}
		if p == DumpName && fi.Size() != s.Manifest.DumpBytes {
			return fmt.Errorf("%w: %s has %d bytes, the manifest says %d", ErrCorrupt, DumpName, fi.Size(), s.Manifest.DumpBytes)
		}
	}
	return nil
}

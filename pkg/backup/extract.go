package backup

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	units "github.com/docker/go-units"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// extractor writes a backup's entries into the staging folder, through an os.Root (no name
// resolves outside it). Each name may only be of its part's kind and gets its part's mode,
// whatever the archive says; nothing is written through a link the archive made; and each
// entry is counted against the budget before a byte of it is written.
type extractor struct {
	root        *os.Root
	lim         Limits
	total, left int64  // the budget in bytes, and what is left of it
	why         string // where the budget comes from
	dump        int64  // bytes of the dump, as the manifest declares
	links       map[string]string
}

// Kinds of entry, as tar's type flags ('S' also stands for the PAX sparse formats).
const (
	kindDir    = string(tar.TypeDir)
	kindFile   = string(tar.TypeReg)
	kindLink   = string(tar.TypeSymlink)
	kindSparse = tar.TypeGNUSparse
)

// part is what an entry of a backup may be, and how it is written.
type part struct {
	kinds string // the entry types it may be
	max   int64  // bytes of a file
	mode  func(archive fs.FileMode, dir bool) fs.FileMode
	owner bool // keep the archive's numeric owner (the site's files belong to www-data)
}

// partOf is the rule for the entry called name; no kinds when a backup holds no such name.
// The document root keeps the archive's permissions (less set-id bits and write for others)
// and may hold links; wpinit's own files never keep the archive's: config files 0644, the
// secrets 0600, folders 0755, owned by wpinit.
func (x *extractor) partOf(name string) part {
	own := func(file fs.FileMode) func(fs.FileMode, bool) fs.FileMode {
		return func(_ fs.FileMode, dir bool) fs.FileMode {
			if dir {
				return 0o755
			}
			return file
		}
	}
	switch {
	case name == DumpName:
		return part{kinds: kindFile, max: x.lim.Entry, mode: own(0o600)}
	case name == instance.PartWordPress:
		return part{kinds: kindDir, mode: siteMode, owner: true}
	case within(name, instance.PartWordPress):
		return part{kinds: kindDir + kindFile + kindLink, max: x.lim.Entry, mode: siteMode, owner: true}
	case name == instance.PartConfig:
		return part{kinds: kindDir, mode: own(0o644)}
	case within(name, instance.PartConfig):
		return part{kinds: kindDir + kindFile, max: instance.MaxOwnFile, mode: own(0o644)}
	case name == instance.SecretsFile:
		return part{kinds: kindFile, max: instance.MaxOwnFile, mode: own(0o600)}
	case name == instance.InfoFile:
		return part{kinds: kindFile, max: instance.MaxOwnFile, mode: own(0o644)}
	}
	return part{}
}

func siteMode(m fs.FileMode, dir bool) fs.FileMode {
	m = m.Perm() &^ 0o002
	if dir {
		m |= 0o700 // staging writes into it
	}
	return m
}

// within reports whether name lies under the folder base.
func within(name, base string) bool { return strings.HasPrefix(name, base+"/") }

func (x *extractor) entry(ctx context.Context, hdr *tar.Header, r io.Reader) error {
	name, p, err := x.check(hdr)
	if err != nil {
		return err
	}
	if name != DumpName { // counted when the manifest declared it
		if err := x.charge(hdr.Name, blocks(hdr.Size)); err != nil {
			return err
		}
	}
	return x.write(ctx, name, p, hdr, r)
}

// check returns the entry's clean name and rule, or why it may not be written.
func (x *extractor) check(hdr *tar.Header) (string, part, error) {
	raw := hdr.Name
	name := path.Clean(raw)
	if path.IsAbs(name) || name == "." || name == ".." || strings.HasPrefix(name, "../") {
		return "", part{}, fmt.Errorf("%w: entry %q leaves the instance folder", ErrCorrupt, raw)
	}
	p := x.partOf(name)
	if p.kinds == "" {
		return "", part{}, fmt.Errorf("%w: entry %q is not part of an instance backup", ErrCorrupt, raw)
	}
	for dir := name; dir != "."; dir = path.Dir(dir) { // the entry itself, then its parents
		if _, ok := x.links[dir]; ok {
			return "", part{}, fmt.Errorf("%w: entry %q goes through a symbolic link", ErrCorrupt, raw)
		}
	}
	kind := kindOf(hdr)
	if !strings.ContainsRune(p.kinds, rune(kind)) {
		return "", part{}, fmt.Errorf("%w: entry %q is a %s, it must be %s", ErrCorrupt, raw, kindName(kind), kindsName(p.kinds))
	}
	switch {
	case kind == tar.TypeReg && name == DumpName && hdr.Size != x.dump:
		return "", part{}, fmt.Errorf("%w: %s has %d bytes, the manifest says %d", ErrCorrupt, DumpName, hdr.Size, x.dump)
	case kind == tar.TypeReg && hdr.Size > p.max:
		return "", part{}, fmt.Errorf("%w: entry %q has %d bytes, more than the %d a restore accepts for it", ErrTooLarge, raw, hdr.Size, p.max)
	case kind == tar.TypeSymlink && len(x.links) >= x.lim.Links:
		return "", part{}, fmt.Errorf("%w: entry %q: more than %d symbolic links", ErrTooLarge, raw, x.lim.Links)
	case kind == tar.TypeSymlink && !linkInside(name, hdr.Linkname, x.isLink):
		return "", part{}, linkError(raw, hdr.Linkname)
	}
	return name, p, nil
}

func linkError(name, target string) error {
	return fmt.Errorf("%w: symbolic link %q -> %q leaves data/wordpress (a link must be relative and stay inside it)", ErrCorrupt, name, target)
}

// declare counts the dump the manifest announces, before anything is written.
func (x *extractor) declare(dump int64) error {
	switch {
	case dump < 0:
		return fmt.Errorf("%w: the manifest declares a dump of %d bytes", ErrCorrupt, dump)
	case dump > x.lim.Entry:
		return fmt.Errorf("%w: the manifest declares a dump of %d bytes, more than the %d a restore accepts", ErrTooLarge, dump, x.lim.Entry)
	}
	x.dump = dump
	return x.charge(DumpName, blocks(dump))
}

// charge takes n bytes of the budget for the entry name, or refuses it.
func (x *extractor) charge(name string, n int64) error {
	if n > x.left {
		return fmt.Errorf("%w: entry %q would take staging past %s (%s)", ErrTooLarge, name, units.BytesSize(float64(x.total)), x.why)
	}
	x.left -= n
	return nil
}

// write creates the entry, checked by check, with its part's mode and owner.
func (x *extractor) write(ctx context.Context, name string, p part, hdr *tar.Header, r io.Reader) error {
	if err := x.root.MkdirAll(path.Dir(name), 0o755); errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: entry %q lies under an entry that is not a folder", ErrCorrupt, hdr.Name)
	} else if err != nil {
		return fmt.Errorf("write entry %q: %w", hdr.Name, err)
	}
	mode := p.mode(fs.FileMode(hdr.Mode), hdr.Typeflag == tar.TypeDir)
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = x.mkdir(name, mode)
	case tar.TypeReg:
		err = x.writeFile(ctx, name, mode, hdr, r)
	case tar.TypeSymlink:
		if err = x.root.Symlink(hdr.Linkname, name); err == nil {
			x.links[name] = hdr.Linkname
		}
	}
	if err == nil && p.owner && os.Geteuid() == 0 {
		err = x.root.Lchown(name, hdr.Uid, hdr.Gid)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: entry %q appears twice", ErrCorrupt, hdr.Name)
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil && errors.Is(err, errRead):
		return fmt.Errorf("%w: entry %q: %w", ErrCorrupt, hdr.Name, err)
	case err != nil:
		return fmt.Errorf("write entry %q: %w", hdr.Name, err)
	}
	return nil
}

// mkdir makes a folder entry; a folder made earlier for an entry inside it is kept.
func (x *extractor) mkdir(name string, mode fs.FileMode) error {
	err := x.root.Mkdir(name, 0o700)
	if errors.Is(err, fs.ErrExist) {
		if fi, lerr := x.root.Lstat(name); lerr == nil && fi.IsDir() {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	return x.root.Chmod(name, mode)
}

// errRead marks a failure to read an entry's content from the archive.
var errRead = errors.New("read")

func (x *extractor) writeFile(ctx context.Context, name string, mode fs.FileMode, hdr *tar.Header, r io.Reader) error {
	f, err := x.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err = io.CopyN(f, ctxReader{ctx, r}, hdr.Size); err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) { // not the file's write: the archive's read
			err = fmt.Errorf("%w: %w", errRead, err)
		}
	}
	if err == nil {
		err = f.Chmod(mode) // on the descriptor: whatever the umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return x.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
}

// ctxReader ends a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (x *extractor) isLink(name string) bool { _, ok := x.links[name]; return ok }

// checkLinks checks every link again once all are known: a link checked before a later
// entry made one of its components a link may lead elsewhere now.
func (x *extractor) checkLinks() error {
	names := make([]string, 0, len(x.links))
	for n := range x.links {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !linkInside(n, x.links[n], x.isLink) {
			return linkError(n, x.links[n])
		}
	}
	return nil
}

// linkInside reports whether the link name -> target stays inside data/wordpress when the
// kernel follows it: the target is relative, each of its steps, taken from the link's
// folder, stays inside, and no ".." comes after a component that is itself a link (the
// kernel steps back from where that link leads, not from its name).
func linkInside(name, target string, isLink func(string) bool) bool {
	if target == "" || path.IsAbs(target) {
		return false
	}
	p, through := path.Dir(name), false
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if through {
				return false
			}
			p = path.Dir(p)
		default:
			p = path.Join(p, c)
			through = through || isLink(p)
		}
		if p != instance.PartWordPress && !within(p, instance.PartWordPress) {
			return false
		}
	}
	return true
}

// kindOf is the entry's type; a PAX sparse file says so only in its records.
func kindOf(hdr *tar.Header) byte {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return kindSparse
		}
	}
	return hdr.Typeflag
}

func kindOfMode(m fs.FileMode) byte {
	switch {
	case m.IsDir():
		return tar.TypeDir
	case m.IsRegular():
		return tar.TypeReg
	case m&fs.ModeSymlink != 0:
		return tar.TypeSymlink
	}
	return tar.TypeChar
}

func kindName(k byte) string {
	switch k {
	case tar.TypeDir:
		return "folder"
	case tar.TypeReg:
		return "file"
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case kindSparse:
		return "sparse file"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("entry of type %q", k)
}

func kindsName(kinds string) string {
	switch kinds {
	case kindDir:
		return "a folder"
	case kindFile:
		return "a file"
	case kindDir + kindFile:
		return "a folder or a file"
	}
	return "a folder, a file or a symbolic link"
}

package instance

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"golang.org/x/sys/unix"
)

// CopyTree copies the folders of snapshots, restores and clones. Their source is hostile
// (a site's document root, a data directory its database container wrote, a snapshot folder
// that sat on disk): the copy reads it through an os.Root, so nothing outside it is ever
// read, and it takes only what the rules allow. Modes keep their permission bits only
// (never setuid, setgid or sticky), owners and modification times are kept, and the
// destination must not exist: it is created whole.

// TreeRules say what a copied tree may hold.
type TreeRules struct {
	Links   bool  // symbolic links, copied as they are, when they resolve inside the tree
	MaxFile int64 // bytes of one file, 0 for no bound
}

var treeRules = map[string]TreeRules{
	wordpressDir: {Links: true},
	configDir:    {MaxFile: MaxOwnFile},
	mysqlDir:     {},
}

// ErrTreeEntry is wrapped when a copied tree holds an entry its rules refuse.
var ErrTreeEntry = errors.New("refused in a copied folder")

// CopyTree copies the tree at src to dst (which must not exist) within rules.
func CopyTree(src, dst string, rules TreeRules) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w: not a folder", src, ErrTreeEntry)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	from, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer to.Close()
	c := &treeCopy{from: from, to: to, rules: rules, work: make(chan fileJob)}
	errs := make(chan error, copyWorkers)
	for range copyWorkers {
		go func() { errs <- c.worker() }()
	}
	err = fs.WalkDir(from.FS(), ".", c.entry)
	close(c.work)
	for range copyWorkers {
		err = errors.Join(err, <-errs)
	}
	if err != nil {
		return err
	}
	// Folders last: their times change as entries are written in them, and a folder of
	// mode 0555 would refuse its own entries.
	for i := len(c.dirs) - 1; i >= 0; i-- {
		if err := c.finish(c.dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

type treeCopy struct {
	from, to *os.Root
	rules    TreeRules
	dirs     []string
	work     chan fileJob // files to copy, to the workers
	failed   atomic.Bool  // a worker failed: the walk stops
}

type fileJob struct {
	name string
	fi   fs.FileInfo
}

// The copy of a data directory is the slowest step of a snapshot restore and of a clone:
// files are copied by copyWorkers at once, and a large one by copyChunks ranges at once,
// so that the copy is bound by the disk, not by one thread's system calls.
const (
	copyWorkers = 4
	copyChunks  = 4
)

// chunkMin is the least a range of a split file holds (a variable for the tests).
var chunkMin int64 = 64 << 20

func (c *treeCopy) worker() error {
	var err error
	for j := range c.work {
		if err != nil {
			continue // drain: the walk stops at its next entry
		}
		if err = c.copyFile(j.name, j.fi); err != nil {
			c.failed.Store(true)
		}
	}
	return err
}

func (c *treeCopy) entry(name string, d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	if c.failed.Load() {
		return errCopyFailed
	}
	fi, err := d.Info()
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		if name != "." {
			if err := c.to.Mkdir(name, 0o700); err != nil {
				return err
			}
		}
		c.dirs = append(c.dirs, name)
		return nil
	case fi.Mode().IsRegular():
		return c.file(name, fi)
	case fi.Mode()&fs.ModeSymlink != 0 && c.rules.Links:
		return c.link(name)
	}
	return fmt.Errorf("%s: %w: a %s", name, ErrTreeEntry, fi.Mode().Type())
}

var errCopyFailed = errors.New("copy failed")

// file checks a file against the rules and hands it to the workers.
func (c *treeCopy) file(name string, fi fs.FileInfo) error {
	if c.rules.MaxFile > 0 && fi.Size() > c.rules.MaxFile {
		return fmt.Errorf("%s: %w: larger than %d bytes", name, ErrTreeEntry, c.rules.MaxFile)
	}
	c.work <- fileJob{name: name, fi: fi}
	return nil
}

func (c *treeCopy) copyFile(name string, fi fs.FileInfo) error {
	in, err := c.from.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.to.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if err := copyData(in, out, fi.Size()); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return c.attrs(name, fi)
}

// copyData copies in to out, size bytes as the source was listed: with copy_file_range, in
// the kernel (a reflink where the file system has them), in ranges side by side for a large
// file. A file that grew meanwhile is copied to its listed size (the sources are stopped
// servers' files, snapshots, or a document root where that is harmless).
func copyData(in, out *os.File, size int64) error {
	chunks := int64(1)
	if size >= 2*chunkMin {
		chunks = min(copyChunks, size/chunkMin)
	}
	if chunks == 1 {
		_, err := io.Copy(out, in) // *os.File to *os.File: copy_file_range
		return err
	}
	if err := out.Truncate(size); err != nil {
		return err
	}
	per := (size + chunks - 1) / chunks
	errs := make(chan error, chunks)
	for i := range chunks {
		go func() {
			off, end := i*per, min((i+1)*per, size)
			errs <- copyRange(in, out, off, end-off)
		}()
	}
	var err error
	for range chunks {
		err = errors.Join(err, <-errs)
	}
	return err
}

func copyRange(in, out *os.File, off, n int64) error {
	inOff, outOff := off, off
	for n > 0 {
		w, err := unix.CopyFileRange(int(in.Fd()), &inOff, int(out.Fd()), &outOff, int(min(n, 1<<30)), 0)
		if err != nil {
			return err
		}
		if w == 0 {
			return fmt.Errorf("source ended %d bytes early", n)
		}
		n -= int64(w)
	}
	return nil
}

func (c *treeCopy) link(name string) error {
	target, err := c.from.Readlink(name)
	if err != nil {
		return err
	}
	if path.IsAbs(target) || !inside(path.Join(path.Dir(name), target)) {
		return fmt.Errorf("%s: %w: a link to %s, outside the folder", name, ErrTreeEntry, target)
	}
	if err := c.to.Symlink(target, name); err != nil {
		return err
	}
	if fi, err := c.from.Lstat(name); err == nil {
		return c.owner(name, fi)
	}
	return nil
}

func inside(p string) bool { return p != ".." && !strings.HasPrefix(p, "../") }

func (c *treeCopy) finish(name string) error {
	fi, err := c.from.Lstat(name)
	if err != nil {
		return err
	}
	return c.attrs(name, fi)
}

// attrs gives the copy its source's permission bits, owner and modification time.
func (c *treeCopy) attrs(name string, fi fs.FileInfo) error {
	if err := c.owner(name, fi); err != nil {
		return err
	}
	if err := c.to.Chmod(name, fi.Mode().Perm()); err != nil {
		return err
	}
	return c.to.Chtimes(name, fi.ModTime(), fi.ModTime())
}

func (c *treeCopy) owner(name string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return c.to.Lchown(name, int(st.Uid), int(st.Gid))
}

// CopyDataDir copies a database data directory (only folders and files) from src to dst.
func CopyDataDir(src, dst string) error { return CopyTree(src, dst, treeRules[mysqlDir]) }

// PartMySQL is data/mysql, as named in a staging folder.
const PartMySQL = mysqlDir

// CopyPart copies the instance folder's part (PartWordPress, PartConfig, PartMySQL) from src
// to dst within that part's rules.
func CopyPart(part, src, dst string) error {
	rules, ok := treeRules[part]
	if !ok {
		return fmt.Errorf("copy %s: not a part of an instance folder", part)
	}
	return CopyTree(src, dst, rules)
}

// CopyOwnFile copies one of wpinit's own files (.env, .instance-info), at most MaxOwnFile
// bytes, links refused; the copy is 0600.
func CopyOwnFile(src, dst string) error {
	data, err := readFile(src)
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, data, 0o600)
}

package instance

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// An instance folder holds what a restored archive brought and what the site's containers
// wrote, and wpinit runs as root: it never follows a link it did not make. Every file it
// writes in the folder goes through atomicfile.Write, and every file of its own it reads (.env,
// .instance-info, the config files, docker-compose.yml) through readFile.

// MaxOwnFile bounds each of wpinit's own files in an instance folder (.env, .instance-info,
// a config file): what readFile reads, and what a restore accepts for them.
const MaxOwnFile = 1 << 20

// errLink is wrapped when one of wpinit's own files or folders is a symbolic link.
var errLink = errors.New("is a symbolic link: wpinit does not follow links in an instance folder")

// readFile reads one of wpinit's own files, at most MaxOwnFile bytes, without following a
// link at its name (O_NOFOLLOW). A missing file is an error wrapping fs.ErrNotExist.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s %w", path, errLink)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxOwnFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxOwnFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxOwnFile)
	}
	return data, nil
}

// dirMaker makes folders under one root (ensure): each folder on the way must be a folder,
// not a link or a file (root itself may be a link), and one checked once (an instance's own
// folder, its config/ and logs/) is not checked again on the way to the next.
type dirMaker struct {
	root string
	seen map[string]bool
}

func newDirMaker(root string) *dirMaker { return &dirMaker{root: root, seen: map[string]bool{}} }

// lstatOrMkdir is p's lstat, or p made (made) when it is missing. A seed renames copied
// folders in and out beside a preparation: one missing to lstat and there again to mkdir is
// looked at again, and so is one there to mkdir and gone again to the lstat after it.
func lstatOrMkdir(p string) (fi fs.FileInfo, made bool, err error) {
	for range 5 {
		fi, err = os.Lstat(p)
		if !errors.Is(err, fs.ErrNotExist) {
			return fi, false, err
		}
		err = os.Mkdir(p, 0o755)
		if err == nil {
			return nil, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
	}
	return nil, false, fmt.Errorf("make %s: it keeps appearing and going: %w", p, err)
}

// ensure makes the folder path, under the root, and each missing folder between them; it
// reports whether path itself was created.
func (m *dirMaker) ensure(path string) (created bool, err error) {
	rel, err := filepath.Rel(m.root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return false, fmt.Errorf("%s is not under %s", path, m.root)
	}
	p := m.root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if m.seen[p] {
			created = false
			continue
		}
		fi, made, err := lstatOrMkdir(p)
		if made {
			m.seen[p] = true
			created = true
			continue
		}
		switch {
		case err != nil:
			return false, err
		case fi.Mode()&fs.ModeSymlink != 0:
			return false, fmt.Errorf("%s %w", p, errLink)
		case !fi.IsDir():
			return false, fmt.Errorf("%s is not a folder", p)
		}
		m.seen[p] = true
		created = false
	}
	return created, nil
}

package sysinit

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

const stepDataRoot = "data-root"

// dataRootFix is the remedy named in the refusal: a named volume gives dockerd a real
// filesystem, on which overlay2 works.
const dataRootFix = "-v wp-dind-docker:/var/lib/docker"

// checkDataRoot refuses a data root on overlayfs. When the data root does not exist yet, the
// filesystem that matters is the nearest existing parent's: dockerd will create it there.
func checkDataRoot(opts Options) stepResult {
	if opts.DataRoot == "" {
		return result(stepDataRoot, Skipped, notConfigured)
	}
	dir, fsType, err := fsTypeOf(opts.DataRoot)
	if err != nil {
		return failure(stepDataRoot, Failed, fmt.Errorf("check data root %s: %w", opts.DataRoot, err))
	}
	if fsType == unix.OVERLAYFS_SUPER_MAGIC {
		err := fmt.Errorf("%w: %s (at %s) is on the container's overlay root, where dockerd "+
			"cannot use overlay2 and would silently fall back to the slow vfs driver; "+
			"give it a volume: start the container with %s", ErrDataRootOnOverlay, opts.DataRoot, dir, dataRootFix)
		return failure(stepDataRoot, Failed, err)
	}
	return result(stepDataRoot, Done, fmt.Sprintf("%s is on %s", dir, fsName(fsType)))
}

// fsTypeOf statfs-es path, or its nearest existing ancestor, and returns which one it used.
func fsTypeOf(path string) (string, int64, error) {
	dir := filepath.Clean(path)
	for {
		var st unix.Statfs_t
		err := unix.Statfs(dir, &st)
		if err == nil {
			return dir, int64(st.Type), nil
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, fs.ErrNotExist) || parent == dir {
			return dir, 0, &fs.PathError{Op: "statfs", Path: dir, Err: err}
		}
		dir = parent
	}
}

// fsName names the filesystems the report is likely to meet; others print as hex magic.
func fsName(magic int64) string {
	switch magic {
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext2/3/4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.CGROUP2_SUPER_MAGIC:
		return "cgroup2"
	}
	return fmt.Sprintf("filesystem 0x%x", magic)
}

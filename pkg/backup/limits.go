package backup

import (
	"fmt"
	"syscall"

	units "github.com/docker/go-units"
)

// Limits bound what Stage writes, so that an archive (a sparse entry of 349 bytes that
// expands to 512 MiB, a gzip bomb, a declared size of a terabyte) cannot fill the file
// system the other instances live on.
//
// Every entry is counted in 4 KiB blocks, one at least (what it takes on disk), and refused
// before any of its bytes is written when it would take the staging past its budget: what
// leaves KeepFree of the instances root's file system free, and at most Total when Total is
// set. The dump the manifest declares is counted as soon as the manifest is read.
type Limits struct {
	Entry int64 // bytes of one file; wpinit's own files (.env, .instance-info, config) are held to instance.MaxOwnFile
	Total int64 // bytes in all, 0 for no bound but the free space
	Links int   // symbolic links
}

// DefaultLimits are wpinit's: an entry of at most 32 GiB, at most 100 000 symbolic links,
// and in all what leaves KeepFree free.
var DefaultLimits = Limits{Entry: 32 << 30, Links: 100_000}

const (
	block         = 4096
	keepFreeMin   = 1 << 30 // bytes
	keepFreeShare = 20      // 1/20: 5 % of the file system
	maxManifest   = 1 << 20
	maxTrailing   = 1 << 20 // zeros after the tar end (GNU tar pads to 10 KiB records)
)

// KeepFree is what a restore leaves free on a file system of size bytes: 5 % of it, and
// 1 GiB at least.
func KeepFree(size int64) int64 { return max(size/keepFreeShare, keepFreeMin) }

// blocks is what an entry of size bytes is counted for.
func blocks(size int64) int64 {
	if size <= 0 {
		return block
	}
	return (size + block - 1) / block * block
}

// budget is what staging under dir may write with lim, and why, for the error.
func budget(dir string, lim Limits) (int64, string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, "", fmt.Errorf("check free space: %w", err)
	}
	avail, size := int64(st.Bavail)*st.Bsize, int64(st.Blocks)*st.Bsize
	keep := KeepFree(size)
	n := max(avail-keep, 0)
	why := fmt.Sprintf("%s free on %s, %s of it kept free", units.BytesSize(float64(avail)), dir, units.BytesSize(float64(keep)))
	if lim.Total > 0 && lim.Total < n {
		n, why = lim.Total, "the limit of this restore"
	}
	return n, why, nil
}

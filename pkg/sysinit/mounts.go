package sysinit

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const (
	stepSecurityFS = "securityfs"
	stepRShared    = "mount-propagation"
)

// mountSecurityFS mounts securityfs where it is missing: dockerd reads AppArmor's state there
// to decide whether to apply profiles. Like dind, a failure is a warning, not a refusal: the
// engine runs without it, only AppArmor detection suffers.
func mountSecurityFS(opts Options) stepResult {
	if opts.SecurityFS == "" {
		return result(stepSecurityFS, Skipped, notConfigured)
	}
	if fi, err := os.Stat(opts.SecurityFS); err != nil || !fi.IsDir() {
		return result(stepSecurityFS, Skipped, fmt.Sprintf("%s is not a directory on this kernel", opts.SecurityFS))
	}
	mounts, err := readMountInfo(opts.MountInfo)
	if err != nil {
		return failure(stepSecurityFS, Warning, err)
	}
	if m, ok := topMountAt(mounts, opts.SecurityFS); ok && m.FSType == "securityfs" {
		return result(stepSecurityFS, Skipped, "already mounted at "+opts.SecurityFS)
	}
	if err := unix.Mount("securityfs", opts.SecurityFS, "securityfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		err = fmt.Errorf("mount securityfs at %s: %w (AppArmor detection may be wrong)", opts.SecurityFS, err)
		return failure(stepSecurityFS, Warning, err)
	}
	return result(stepSecurityFS, Done, "mounted at "+opts.SecurityFS)
}

// makeRShared makes PropagationRoot and every mount below it shared, as `mount
// --make-rshared /` does: dockerd's bind mounts with rshared/rslave propagation and the
// mounts it makes for containers need a shared parent. Skipped when already so.
func makeRShared(opts Options) stepResult {
	if opts.PropagationRoot == "" {
		return result(stepRShared, Skipped, notConfigured)
	}
	mounts, err := readMountInfo(opts.MountInfo)
	if err != nil {
		return failure(stepRShared, Failed, err)
	}
	if _, ok := topMountAt(mounts, opts.PropagationRoot); !ok {
		return failure(stepRShared, Failed, fmt.Errorf("make %s rshared: %w", opts.PropagationRoot,
			errors.New("not a mount point in "+opts.MountInfo)))
	}
	under := mountsUnder(mounts, opts.PropagationRoot)
	private := 0
	for _, m := range under {
		if !m.shared() {
			private++
		}
	}
	if private == 0 {
		return result(stepRShared, Skipped, fmt.Sprintf("%s and its %d submounts already shared", opts.PropagationRoot, len(under)-1))
	}
	if err := unix.Mount("", opts.PropagationRoot, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return failure(stepRShared, Failed, fmt.Errorf("make %s rshared: %w", opts.PropagationRoot, err))
	}
	return result(stepRShared, Done, fmt.Sprintf("made %s rshared (%d of %d mounts were not shared)", opts.PropagationRoot, private, len(under)))
}

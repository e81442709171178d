package sysinit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const stepCgroup = "cgroup-nesting"

// nestCgroups does cgroup v2 nesting. cgroup v2's "no internal processes" rule forbids
// enabling domain controllers for children of a group that holds processes, and the
// container's root group holds them all (wpinit first). So every process moves into the
// CgroupInit child, then the root's available controllers are enabled in its
// cgroup.subtree_control, leaving dockerd free to create container groups beside init.
// A process forked into the root between the move and the write makes the write fail with
// EBUSY: then the move and the write are tried again, a bounded number of times.
func nestCgroups(ctx context.Context, opts Options) stepResult {
	if opts.CgroupRoot == "" {
		return result(stepCgroup, Skipped, notConfigured)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(opts.CgroupRoot, &st); err != nil {
		return failure(stepCgroup, Failed, fmt.Errorf("statfs cgroup root %s: %w", opts.CgroupRoot, err))
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return result(stepCgroup, Skipped, fmt.Sprintf("%s is %s, not cgroup2: no nesting needed",
			opts.CgroupRoot, fsName(int64(st.Type))))
	}
	n := cgroupNest{root: opts.CgroupRoot, init: filepath.Join(opts.CgroupRoot, opts.CgroupInit)}
	detail, err := n.run(ctx, opts.CgroupAttempts, opts.CgroupRetryDelay)
	if err != nil {
		return failure(stepCgroup, Failed, err)
	}
	return result(stepCgroup, outcomeOf(detail), detail.String())
}

// cgroupNest is one nesting run on a cgroup2 directory.
type cgroupNest struct {
	root, init string
}

// nestDetail counts what a run changed; zero everywhere means it was already done.
type nestDetail struct {
	moved    int
	enabled  []string
	attempts int
}

func (d nestDetail) String() string {
	if d.moved == 0 && len(d.enabled) == 0 {
		return "already nested: root group empty, controllers enabled"
	}
	return fmt.Sprintf("moved %d processes to init, enabled controllers [%s] in %d attempt(s)",
		d.moved, strings.Join(d.enabled, " "), d.attempts)
}

func outcomeOf(d nestDetail) Outcome {
	if d.moved == 0 && len(d.enabled) == 0 {
		return Skipped
	}
	return Done
}

func (n cgroupNest) run(ctx context.Context, attempts int, delay time.Duration) (nestDetail, error) {
	var d nestDetail
	if err := os.Mkdir(n.init, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return d, fmt.Errorf("create cgroup %s: %w", n.init, err)
	}
	var lastErr error
	for d.attempts = 1; d.attempts <= attempts; d.attempts++ {
		moved, err := n.moveProcs()
		d.moved += moved
		if err != nil {
			return d, err
		}
		enabled, err := n.enableControllers()
		d.enabled = append(d.enabled, enabled...)
		if !errors.Is(err, unix.EBUSY) {
			return d, err
		}
		lastErr = err
		if err := sleepCtx(ctx, delay*time.Duration(d.attempts)); err != nil {
			return d, fmt.Errorf("nest cgroups: %w", err)
		}
	}
	return d, fmt.Errorf("enable controllers in %s after %d attempts: %w", n.root, attempts, lastErr)
}

// moveProcs moves every process listed in the root's cgroup.procs into init. A process that
// exits meanwhile (ESRCH) is not an error.
func (n cgroupNest) moveProcs() (int, error) {
	pids, err := readFields(filepath.Join(n.root, "cgroup.procs"))
	if err != nil {
		return 0, err
	}
	target := filepath.Join(n.init, "cgroup.procs")
	moved := 0
	for _, pid := range pids {
		if _, err := strconv.Atoi(pid); err != nil {
			return moved, fmt.Errorf("read %s: bad pid %q", filepath.Join(n.root, "cgroup.procs"), pid)
		}
		err := writeCgroupFile(target, pid)
		switch {
		case err == nil:
			moved++
		case errors.Is(err, unix.ESRCH):
		default:
			return moved, fmt.Errorf("move pid %s to %s: %w", pid, n.init, err)
		}
	}
	return moved, nil
}

// enableControllers writes +c to the root's subtree_control for each available controller not
// yet enabled, one at a time so that a controller the kernel refuses (other than EBUSY) is
// named in the error.
func (n cgroupNest) enableControllers() ([]string, error) {
	available, err := readFields(filepath.Join(n.root, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	control := filepath.Join(n.root, "cgroup.subtree_control")
	current, err := readFields(control)
	if err != nil {
		return nil, err
	}
	var enabled []string
	for _, c := range available {
		if slices.Contains(current, c) {
			continue
		}
		if err := writeCgroupFile(control, "+"+c); err != nil {
			return enabled, fmt.Errorf("enable controller %s in %s: %w", c, n.root, err)
		}
		enabled = append(enabled, c)
	}
	return enabled, nil
}

func readFields(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return strings.Fields(string(b)), nil
}

// writeCgroupFile writes one value in one write(2), as cgroupfs expects; no O_TRUNC/O_CREATE.
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

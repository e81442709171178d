package sysinit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

// cgroup2Mount finds a real cgroup2 hierarchy: /sys/fs/cgroup on a v2 host, or
// /sys/fs/cgroup/unified on a hybrid one (this machine).
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	for _, m := range mountTable(t) {
		if m.FSType == "cgroup2" {
			return m.Point
		}
	}
	t.Skip("no cgroup2 hierarchy mounted")
	return ""
}

// testCgroup creates a child group of the cgroup2 hierarchy to stand for the container's
// root group, and removes it (and its init child) at cleanup. When the hierarchy's root can
// delegate a controller that is not yet delegated, it is enabled for the test and disabled
// again afterwards, so the nesting really has a domain controller to enable under the
// no-internal-process rule (on this hybrid host: hugetlb).
func testCgroup(t *testing.T) (dir string, delegated []string) {
	t.Helper()
	requireRoot(t)
	top := cgroup2Mount(t)
	delegated = delegateForTest(t, top)
	dir = filepath.Join(top, fmt.Sprintf("wpdind-test-%d", rand.Uint32()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	t.Cleanup(func() {
		for _, d := range []string{filepath.Join(dir, "init"), dir} {
			if err := rmdirCgroup(d); err != nil {
				t.Errorf("remove test cgroup: %v", err)
			}
		}
	})
	return dir, delegated
}

func delegateForTest(t *testing.T, top string) []string {
	t.Helper()
	available, err := readFields(filepath.Join(top, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	control := filepath.Join(top, "cgroup.subtree_control")
	current, err := readFields(control)
	if err != nil {
		t.Fatal(err)
	}
	delegated := current
	for _, c := range available {
		if slices.Contains(current, c) || c == "cpuset" || c == "cpu" {
			continue // cpu and cpuset stay as the host has them: other work may rely on them
		}
		if err := writeCgroupFile(control, "+"+c); err != nil {
			t.Logf("cannot delegate %s for the test: %v", c, err)
			continue
		}
		delegated = append(delegated, c)
		t.Cleanup(func() {
			if err := writeCgroupFile(control, "-"+c); err != nil {
				t.Errorf("restore %s: %v", control, err)
			}
		})
	}
	return delegated
}

// rmdirCgroup removes a cgroup directory, retrying briefly while exited tasks drain.
func rmdirCgroup(dir string) error {
	var err error
	if testutil.Poll(time.Second, func() bool {
		err = unix.Rmdir(dir)
		return err == nil || errors.Is(err, unix.ENOENT)
	}) == nil {
		return nil
	}
	return fmt.Errorf("rmdir %s: %w", dir, err)
}

// startIn starts a process in its own process group and moves it into the cgroup dir; it
// is killed (with its group) and waited for at cleanup.
func startIn(t *testing.T, dir string, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	if err := writeCgroupFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		t.Fatalf("move pid %d into %s: %v", pid, dir, err)
	}
	return pid
}

func TestCgroupNestingMovesProcessesAndEnablesControllers(t *testing.T) {
	root, delegated := testCgroup(t)
	var pids []int
	for range 3 {
		pids = append(pids, startIn(t, root, "sleep", "300"))
	}
	// A shell that keeps forking: its children are born wherever it is at the time.
	pids = append(pids, startIn(t, root, "sh", "-c", "while :; do sleep 0.01; done"))

	step, _, err := prepare(t, Options{CgroupRoot: root})
	if err != nil || step.Outcome != Done {
		t.Fatalf("first run: %+v, %v", step, err)
	}
	t.Logf("delegated to the test group: %v; step: %s", delegated, step.Detail)

	if left, _ := readFields(filepath.Join(root, "cgroup.procs")); len(left) != 0 {
		t.Errorf("processes left in the root group: %v", left)
	}
	inInit, err := readFields(filepath.Join(root, "init", "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !slices.Contains(inInit, strconv.Itoa(pid)) {
			t.Errorf("pid %d not in init (init holds %v)", pid, inInit)
		}
	}
	enabled, _ := readFields(filepath.Join(root, "cgroup.subtree_control"))
	available, _ := readFields(filepath.Join(root, "cgroup.controllers"))
	if !slices.Equal(enabled, available) {
		t.Errorf("subtree_control = %v, want every available controller %v", enabled, available)
	}

	step, _, err = prepare(t, Options{CgroupRoot: root})
	if err != nil || step.Outcome != Skipped {
		t.Fatalf("second run should find the work done: %+v, %v", step, err)
	}
}

// Without the move, enabling a domain controller in a group holding processes fails with
// EBUSY: the rule the nesting exists for. This checks the test group really enforces it.
func TestCgroupRuleNestingWorksAround(t *testing.T) {
	root, delegated := testCgroup(t)
	available, _ := readFields(filepath.Join(root, "cgroup.controllers"))
	if len(available) == 0 {
		t.Skipf("no controller delegated to the test group (hierarchy root delegates %v)", delegated)
	}
	startIn(t, root, "sleep", "300")
	err := writeCgroupFile(filepath.Join(root, "cgroup.subtree_control"), "+"+available[0])
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("enabling %s with a process in the group: want EBUSY, got %v", available[0], err)
	}
	step, _, err := prepare(t, Options{CgroupRoot: root})
	if err != nil || step.Outcome != Done || !strings.Contains(step.Detail, available[0]) {
		t.Fatalf("nesting: %+v, %v", step, err)
	}
}

func TestCgroupNotV2Skipped(t *testing.T) {
	step, _, err := prepare(t, Options{CgroupRoot: t.TempDir()})
	if err != nil || step.Outcome != Skipped || !strings.Contains(step.Detail, "not cgroup2") {
		t.Fatalf("got %+v, %v", step, err)
	}
}

package sysinit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSecurityFSMountedOnce(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	dir := filepath.Join(mountTmpfs(t), "security")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := Options{SecurityFS: dir}

	step, _, err := prepare(t, opts)
	if err != nil || step.Outcome != Done {
		t.Fatalf("first run: %+v, %v", step, err)
	}
	if m, ok := topMountAt(mountTable(t), dir); !ok || m.FSType != "securityfs" {
		t.Fatalf("no securityfs at %s after the first run: %+v", dir, m)
	}
	step, _, err = prepare(t, opts)
	if err != nil || step.Outcome != Skipped {
		t.Fatalf("second run should skip: %+v, %v", step, err)
	}
	n := 0
	for _, m := range mountTable(t) {
		if m.Point == dir {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("securityfs mounted %d times at %s, want 1", n, dir)
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityFSMissingDirSkipped(t *testing.T) {
	step, _, err := prepare(t, Options{SecurityFS: filepath.Join(t.TempDir(), "absent")})
	if err != nil || step.Outcome != Skipped || !strings.Contains(step.Detail, "not a directory") {
		t.Fatalf("got %+v, %v", step, err)
	}
}

func TestRootMadeRShared(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	// Go started this namespace with / rprivate: the state of a fresh container's root.
	if m, _ := topMountAt(mountTable(t), "/"); m.shared() {
		t.Fatalf("precondition: / should start private in the child namespace: %+v", m)
	}
	step, _, err := prepare(t, Options{PropagationRoot: "/"})
	if err != nil || step.Outcome != Done {
		t.Fatalf("first run: %+v, %v", step, err)
	}
	for _, m := range mountTable(t) {
		if !m.shared() {
			t.Errorf("mount %s is not shared after the run: %v", m.Point, m.Optional)
		}
	}
	step, _, err = prepare(t, Options{PropagationRoot: "/"})
	if err != nil || step.Outcome != Skipped {
		t.Fatalf("second run should skip: %+v, %v", step, err)
	}
}

func TestRSharedNeedsMountPoint(t *testing.T) {
	step, _, err := prepare(t, Options{PropagationRoot: t.TempDir()})
	if err == nil || step.Outcome != Failed || !strings.Contains(step.Error, "not a mount point") {
		t.Fatalf("got %+v, %v", step, err)
	}
}

func TestDataRootOnOverlayRefused(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	base := mountTmpfs(t)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(base, "merged")
	data := "lowerdir=" + filepath.Join(base, "lower") + ",upperdir=" + filepath.Join(base, "upper") +
		",workdir=" + filepath.Join(base, "work")
	if err := unix.Mount("overlay", merged, "overlay", 0, data); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })

	// The data root does not exist yet: dockerd would create it on the overlay.
	opts := DefaultOptions()
	opts.Run = testRun
	opts.DataRoot = filepath.Join(merged, "var/lib/docker")
	r, err := Prepare(t.Context(), testLogger(t), opts)
	if !errors.Is(err, ErrDataRootOnOverlay) {
		t.Fatalf("want ErrDataRootOnOverlay, got %v", err)
	}
	if !strings.Contains(err.Error(), "-v wp-dind-docker:/var/lib/docker") {
		t.Errorf("the refusal must name the fix: %v", err)
	}
	if len(r.Steps) != 1 || r.Steps[0].Outcome != Failed {
		t.Errorf("a refused data root must stop Prepare before any other step: %+v", r.Steps)
	}
	t.Logf("refusal: %v", err)
}

func TestDataRootPlainAccepted(t *testing.T) {
	for name, dir := range map[string]string{
		"existing": t.TempDir(),
		"missing":  filepath.Join(t.TempDir(), "var/lib/docker"),
	} {
		t.Run(name, func(t *testing.T) {
			step, _, err := prepare(t, Options{DataRoot: dir})
			if err != nil || step.Outcome != Done {
				t.Fatalf("got %+v, %v", step, err)
			}
		})
	}
}

func TestDataRootTmpfsAccepted(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	step, _, err := prepare(t, Options{DataRoot: filepath.Join(mountTmpfs(t), "docker")})
	if err != nil || step.Outcome != Done || !strings.Contains(step.Detail, "tmpfs") {
		t.Fatalf("got %+v, %v", step, err)
	}
}

// Prepare with the container's defaults, in a private mount namespace with a fresh /run (so
// neither the host's pid files nor its /run are touched) and without cgroup nesting (on a
// cgroup v2 host it would move every host process).
func TestPrepareDefaults(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount tmpfs on /run: %v", err)
	}
	opts := DefaultOptions()
	opts.Run = testRun
	opts.CgroupRoot = ""
	pidFile := opts.PidFiles[0].Path
	if err := os.WriteFile(pidFile, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Prepare(t.Context(), testLogger(t), opts)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	want := map[string]Outcome{
		stepDataRoot: Done, stepCgroup: Skipped, stepRShared: Done, stepPidFiles: Done, stepIptables: Done,
	}
	for _, s := range r.Steps {
		if w, ok := want[s.Name]; ok && s.Outcome != w {
			t.Errorf("step %s: %s (%s %s), want %s", s.Name, s.Outcome, s.Detail, s.Error, w)
		}
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s naming pid 1 (not dockerd) should be gone: %v", pidFile, err)
	}
	if r.Iptables.BinDir != "/run/wp-dind/iptables" {
		t.Errorf("iptables choice: %+v", r.Iptables)
	}
	r2, err := Prepare(t.Context(), testLogger(t), opts)
	if err != nil {
		t.Fatalf("second prepare: %v", err)
	}
	for _, s := range r2.Steps {
		if s.Outcome == Done && s.Name != stepDataRoot {
			t.Errorf("second run redid %s: %s", s.Name, s.Detail)
		}
	}
}

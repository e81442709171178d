package sysinit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestNilRunnerRefused: without a Runner, Prepare refuses before any step, so nothing is
// spawned behind the reaper's back (there is no os/exec fallback) and nothing is touched:
// the stale pid file stays and no daemon.json is written.
func TestNilRunnerRefused(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "docker.pid")
	if err := os.WriteFile(pidFile, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(base, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "daemon.json")
	opts := Options{
		DataRoot: dir, PidFiles: []PidFile{{Path: pidFile, Program: "dockerd"}},
		Iptables: IptablesOptions{BinDir: filepath.Join(dir, "bin")},
		Daemon:   DaemonConfig{Base: base, Out: out},
	}
	r, err := Prepare(t.Context(), testLogger(t), opts)
	if !errors.Is(err, ErrNoRunner) {
		t.Fatalf("Prepare without a Runner: %v, want ErrNoRunner", err)
	}
	if len(r.Steps) != 0 {
		t.Errorf("steps ran: %+v", r.Steps)
	}
	if _, err := os.Stat(pidFile); err != nil {
		t.Errorf("the stale pid file was removed: %v", err)
	}
	for _, p := range []string{out, opts.Iptables.BinDir} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s created: %v", p, err)
		}
	}
	opts.Run = testRun
	if _, err := Prepare(t.Context(), testLogger(t), opts); errors.Is(err, ErrNoRunner) {
		t.Fatalf("Prepare with a Runner: %v", err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("with a Runner, daemon.json not written: %v", err)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("with a Runner, the stale pid file stays: %v", err)
	}
}

// Command bench-supervisor measures wpinit against Debian's supervisord in one run, on the
// same workload: four supervised `sleep infinity` programs each. It reports the restart
// latency (median over repeated SIGKILLs of a child, until the replacement child has exec'd
// sleep), the resident memory and the CPU used while idle (both measured at the same time
// from /proc/PID/stat), with wpinit's figures as ratios of supervisord's, and ends with one
// line of key=value figures.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const programs = 4

func main() {
	wpinitBin := flag.String("wpinit", "bin/wpinit", "wpinit binary")
	supervisord := flag.String("supervisord", "/usr/bin/supervisord", "supervisord binary")
	kills := flag.Int("kills", 20, "SIGKILLs per supervisor for the restart median (at least 20)")
	idle := flag.Duration("idle", 60*time.Second, "idle period for the CPU figure")
	flag.Parse()
	if err := run(*wpinitBin, *supervisord, max(*kills, 20), *idle); err != nil {
		fmt.Fprintln(os.Stderr, "bench-supervisor:", err)
		os.Exit(1)
	}
}

func run(wpinitBin, supervisordBin string, kills int, idle time.Duration) error {
	dir, err := os.MkdirTemp("", "bench-supervisor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sups, err := startBoth(dir, wpinitBin, supervisordBin)
	for _, s := range sups {
		defer s.stop()
	}
	if err != nil {
		return err
	}
	for _, s := range sups {
		if err := s.waitPrograms(30 * time.Second); err != nil {
			return err
		}
	}
	fmt.Printf("workload: %d programs of `sleep infinity` each, start_secs/startsecs 1s\n", programs)
	if err := measureRestarts(sups, kills); err != nil {
		return err
	}
	measureIdle(sups, idle)
	report(sups, kills, idle)
	return nil
}

// startBoth starts wpinit and supervisord with their configs under dir.
func startBoth(dir, wpinitBin, supervisordBin string) ([]*supervisor, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\n[wpinit]\nlog_dir = %q\nstop_timeout = \"10s\"\n", filepath.Join(dir, "wpinit-log"))
	for i := 1; i <= programs; i++ {
		fmt.Fprintf(&b, "[services.p%d]\ncommand = \"/bin/sleep\"\nargs = [\"infinity\"]\nstart_secs = \"1s\"\n", i)
	}
	wcfg := filepath.Join(dir, "wpinit.toml")
	var s strings.Builder
	fmt.Fprintf(&s, "[supervisord]\nnodaemon=true\nlogfile=%s\npidfile=%s\nchildlogdir=%s\n",
		filepath.Join(dir, "supervisord.log"), filepath.Join(dir, "supervisord.pid"), dir)
	for i := 1; i <= programs; i++ {
		fmt.Fprintf(&s, "[program:p%d]\ncommand=/bin/sleep infinity\nstartsecs=1\nautorestart=true\nstdout_logfile=%s\nstderr_logfile=%s\n",
			i, filepath.Join(dir, fmt.Sprintf("p%d.out", i)), filepath.Join(dir, fmt.Sprintf("p%d.err", i)))
	}
	scfg := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(wcfg, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(scfg, []byte(s.String()), 0o644); err != nil {
		return nil, err
	}
	var sups []*supervisor
	for _, c := range []struct {
		name, log string
		argv      []string
	}{
		{"wpinit", "wpinit.log", []string{wpinitBin, "--config", wcfg, "--socket", filepath.Join(dir, "ctl.sock")}},
		{"supervisord", "supervisord.out", []string{supervisordBin, "-n", "-c", scfg}},
	} {
		sup, err := start(c.name, filepath.Join(dir, c.log), c.argv)
		if err != nil {
			return sups, err
		}
		sups = append(sups, sup)
	}
	return sups, nil
}

// supervisor is one of the two under test.
type supervisor struct {
	name     string
	cmd      *exec.Cmd
	pid      int
	born     map[int]time.Time // program pid -> when it was first seen running
	restarts []time.Duration
	rssKiB   int64
	cpuTicks int64 // during the idle period
}

func start(name, logPath string, argv []string) (*supervisor, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &supervisor{name: name, cmd: cmd, pid: cmd.Process.Pid, born: map[int]time.Time{}}, nil
}

func (s *supervisor) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		<-done
	}
}

// programs lists the supervisor's children that have exec'd sleep.
func (s *supervisor) programs() []int {
	var out []int
	for _, pid := range children(s.pid) {
		if comm(pid) == "sleep" {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

func (s *supervisor) waitPrograms(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		ps := s.programs()
		if len(ps) == programs {
			for _, p := range ps {
				s.born[p] = time.Now()
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d of %d programs running after %s", s.name, len(ps), programs, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

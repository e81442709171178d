package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// settle is how long a program must have run before it is killed: past start_secs, so
// that both supervisors see a started program die, not a failed start.
const settle = 1200 * time.Millisecond

// userHZ is the unit of utime and stime in /proc/PID/stat on Linux.
const userHZ = 100

// measureRestarts kills the supervisors' programs in turn, alternating between the two so
// that both run under the same conditions, and times each replacement.
func measureRestarts(sups []*supervisor, kills int) error {
	for i := 0; i < kills; i++ {
		for _, s := range sups {
			d, err := s.killOne(i % programs)
			if err != nil {
				return err
			}
			s.restarts = append(s.restarts, d)
		}
	}
	return nil
}

// killOne SIGKILLs the k-th program once it has run for settle and waits for a new sleep
// child to appear, polling /proc.
func (s *supervisor) killOne(k int) (time.Duration, error) {
	ps := s.programs()
	if len(ps) != programs {
		return 0, fmt.Errorf("%s: %d programs running, want %d", s.name, len(ps), programs)
	}
	victim := ps[k]
	if wait := settle - time.Since(s.born[victim]); wait > 0 {
		time.Sleep(wait)
	}
	start := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("%s: kill %d: %w", s.name, victim, err)
	}
	deadline := start.Add(10 * time.Second)
	for {
		for _, p := range s.programs() {
			if _, known := s.born[p]; !known && p != victim {
				d := time.Since(start)
				s.born[p] = time.Now()
				delete(s.born, victim)
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: no replacement for pid %d within 10s", s.name, victim)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// measureIdle samples both supervisors' CPU time over the same period, then their RSS.
func measureIdle(sups []*supervisor, idle time.Duration) {
	fmt.Printf("idle: measuring CPU of both for %s\n", idle)
	before := make([]int64, len(sups))
	for i, s := range sups {
		before[i] = cpuTicks(s.pid)
	}
	time.Sleep(idle)
	for i, s := range sups {
		s.cpuTicks = cpuTicks(s.pid) - before[i]
		s.rssKiB = rssKiB(s.pid)
	}
}

func report(sups []*supervisor, kills int, idle time.Duration) {
	type figures struct{ restartMs, rssMiB, cpuPct float64 }
	fig := map[string]figures{}
	for _, s := range sups {
		f := figures{
			restartMs: median(s.restarts).Seconds() * 1000,
			rssMiB:    float64(s.rssKiB) / 1024,
			cpuPct:    float64(s.cpuTicks) / userHZ / idle.Seconds() * 100,
		}
		fig[s.name] = f
		sorted := slices.Clone(s.restarts)
		slices.Sort(sorted)
		fmt.Printf("%-11s restart median %.2f ms over %d kills (min %.2f, max %.2f); rss %.1f MiB; idle cpu %d ticks = %.3f %%\n",
			s.name, f.restartMs, kills, ms(sorted[0]), ms(sorted[len(sorted)-1]), f.rssMiB, s.cpuTicks, f.cpuPct)
	}
	w, sv := fig["wpinit"], fig["supervisord"]
	fmt.Printf("wpinit/supervisord: restart %.3fx, rss %.2fx, idle cpu %s\n",
		w.restartMs/sv.restartMs, w.rssMiB/sv.rssMiB, ratio(w.cpuPct, sv.cpuPct))
	fmt.Printf("wpinit_restart_ms=%.2f supervisord_restart_ms=%.2f wpinit_rss_mib=%.1f supervisord_rss_mib=%.1f wpinit_idle_cpu_pct=%.3f supervisord_idle_cpu_pct=%.3f\n",
		w.restartMs, sv.restartMs, w.rssMiB, sv.rssMiB, w.cpuPct, sv.cpuPct)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a (supervisord used no measurable CPU)"
	}
	return fmt.Sprintf("%.3fx", a/b)
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// children lists the pids whose parent is pid, over all its threads.
func children(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(field); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
}

// cpuTicks is utime+stime of pid (all its threads), in clock ticks.
func cpuTicks(pid int) int64 {
	f := statFields(pid)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	s, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return u + s
}

// rssKiB is VmRSS of pid.
func rssKiB(pid int) int64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return v
		}
	}
	return 0
}

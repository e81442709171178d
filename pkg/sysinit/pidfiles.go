package sysinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const stepPidFiles = "stale-pid-files"

// removeStalePidFiles removes pid files a previous run of the same container left behind.
// dockerd refuses to start when its pid file names any live process, and after a container
// restart that pid is usually some other process of the new run (often wpinit itself, pid 1).
// A file is kept only when its pid is alive and runs the file's own program: then that
// program really runs, and removing its pid file would hide it.
func removeStalePidFiles(opts Options) stepResult {
	if len(opts.PidFiles) == 0 {
		return result(stepPidFiles, Skipped, notConfigured)
	}
	var done, kept []string
	var errs []error
	for _, pf := range opts.PidFiles {
		stale, why, err := isStale(opts.ProcDir, pf)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, err)
		case !stale:
			kept = append(kept, pf.Path+" ("+why+")")
		default:
			if err := os.Remove(pf.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove stale pid file: %w", err))
				continue
			}
			done = append(done, pf.Path+" ("+why+")")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return failure(stepPidFiles, Failed, err)
	}
	return result(stepPidFiles, pidOutcome(done), pidDetail(done, kept))
}

func pidOutcome(removed []string) Outcome {
	if len(removed) == 0 {
		return Skipped
	}
	return Done
}

func pidDetail(removed, kept []string) string {
	var parts []string
	if len(removed) > 0 {
		parts = append(parts, "removed "+strings.Join(removed, ", "))
	}
	if len(kept) > 0 {
		parts = append(parts, "kept "+strings.Join(kept, ", "))
	}
	if len(parts) == 0 {
		return "no pid files"
	}
	return strings.Join(parts, "; ")
}

// isStale reads a pid file and says whether it is stale, and why. A missing file returns an
// error satisfying fs.ErrNotExist; unparsable content is stale (dockerd could not use it).
func isStale(procDir string, pf PidFile) (bool, string, error) {
	b, err := os.ReadFile(pf.Path)
	if err != nil {
		return false, "", err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return true, fmt.Sprintf("unreadable pid %q", strings.TrimSpace(string(b))), nil
	}
	name, state, err := procState(procDir, pid)
	if errors.Is(err, fs.ErrNotExist) {
		return true, fmt.Sprintf("pid %d is dead", pid), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("inspect pid %d from %s: %w", pid, pf.Path, err)
	}
	if state == "Z" || state == "X" {
		// exited, not yet reaped (its parent died with it and nobody waits): as good as dead
		return true, fmt.Sprintf("pid %d is a dead %s (state %s)", pid, name, state), nil
	}
	if name != commName(pf.Program) {
		return true, fmt.Sprintf("pid %d is %s, not %s", pid, name, pf.Program), nil
	}
	return false, fmt.Sprintf("pid %d is a live %s", pid, name), nil
}

// commName is program as /proc/PID/comm shows it: at most 15 bytes (TASK_COMM_LEN - 1).
func commName(program string) string {
	if len(program) > 15 {
		return program[:15]
	}
	return program
}

// procState reads a process's comm and state from /proc/PID/stat ("pid (comm) S ...";
// comm may hold spaces and parentheses, so the state follows the last ')').
func procState(procDir string, pid int) (comm, state string, err error) {
	b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", "", err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", "", fmt.Errorf("parse /proc/%d/stat: %q", pid, s)
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) == 0 {
		return "", "", fmt.Errorf("parse /proc/%d/stat: no state in %q", pid, s)
	}
	return s[open+1 : end], fields[0], nil
}

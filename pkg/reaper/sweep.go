package reaper

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// killWait bounds the wait after SIGKILL: only a process stuck in the kernel survives it.
const killWait = 5 * time.Second

// sweep ends every process left: TERM, reaping until SweepGrace, then KILL and reaping
// until no child is left.
func (r *Reaper) sweep() {
	if !r.reap() {
		return
	}
	r.log.Info("stopping leftover processes", "signal", "TERM", "grace", r.opts.SweepGrace)
	r.signalAll(unix.SIGTERM)
	if r.waitChildren(r.opts.SweepGrace) {
		return
	}
	r.log.Warn("killing leftover processes", "signal", "KILL")
	r.signalAll(unix.SIGKILL)
	if !r.waitChildren(killWait) {
		r.log.Error("failed to reap every process: some survive SIGKILL")
	}
}

// waitChildren reaps on every SIGCHLD until no child is left (true) or d passed (false).
func (r *Reaper) waitChildren(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for r.reap() {
		select {
		case <-r.kick:
		case <-timer.C:
			return !r.reap()
		}
	}
	return true
}

// signalAll sends sig to every process this one is responsible for. As PID 1 that is every
// other process of the namespace; otherwise it is the children (orphans come to a
// subreaper) and their process groups, never anything else on the machine.
func (r *Reaper) signalAll(sig unix.Signal) {
	if os.Getpid() == 1 {
		_ = unix.Kill(-1, sig)
		return
	}
	self := os.Getpid()
	ownGroup := unix.Getpgrp()
	for _, pid := range childrenOf(self) {
		_ = unix.Kill(pid, sig)
		if pgid, err := unix.Getpgid(pid); err == nil && pgid != ownGroup {
			_ = unix.Kill(-pgid, sig)
		}
	}
}

// childrenOf lists the pids whose parent is ppid, from /proc.
func childrenOf(ppid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if p, ok := parentFromStat(data); ok && p == ppid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out = append(out, pid)
		}
	}
	return out
}

// parentFromStat reads the ppid field of /proc/PID/stat, which follows the command name in
// parentheses (the name itself may hold spaces and parentheses).
func parentFromStat(stat []byte) (int, bool) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, false
	}
	fields := bytes.Fields(stat[end+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	return ppid, err == nil
}

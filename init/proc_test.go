package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// proc is a process seen from the test, outside wpinit's PID namespace.
type proc struct {
	pid   int    // in the test's namespace
	nsPid int    // in its own (innermost) namespace
	state string // R, S, Z, ...
	ppid  int
	pgrp  int
}

func readProc(pid int) (proc, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	end := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 3 {
		return proc{}, false
	}
	p := proc{pid: pid, state: f[0], nsPid: pid}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			ids := strings.Fields(rest)
			p.nsPid, _ = strconv.Atoi(ids[len(ids)-1])
		}
	}
	return p, true
}

func allProcs() []proc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []proc
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

func childrenOf(ppid int) []int {
	var out []int
	for _, p := range allProcs() {
		if p.ppid == ppid {
			out = append(out, p.pid)
		}
	}
	return out
}

// inNamespace lists the processes in the PID namespace of pid.
func inNamespace(pid int) []proc {
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err != nil {
		return nil
	}
	var out []proc
	for _, p := range allProcs() {
		if l, err := os.Readlink("/proc/" + strconv.Itoa(p.pid) + "/ns/pid"); err == nil && l == ns {
			out = append(out, p)
		}
	}
	return out
}

// hostPid maps a pid of wpinit's namespace to the test's view.
func hostPid(wpinit, nsPid int) int {
	for _, p := range inNamespace(wpinit) {
		if p.nsPid == nsPid {
			return p.pid
		}
	}
	return 0
}

func zombies(ps []proc) int {
	n := 0
	for _, p := range ps {
		if p.state == "Z" {
			n++
		}
	}
	return n
}

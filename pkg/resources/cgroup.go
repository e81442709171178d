package resources

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Usage is one container's use at one moment.
type Usage struct {
	CPUSeconds  float64 // CPU time used since the container started, user and system
	MemoryBytes uint64  // memory in use, without the inactive page cache (as docker stats counts it)
}

// Cgroups reads containers' usage from the cgroup tree mounted at Root. The inner dockerd
// uses the cgroupfs driver, so container ID maps to a folder: docker/ID on cgroup v2,
// CONTROLLER/docker/ID on v1 (systemd's docker-ID.scope is looked for too). A container's
// folders are found once and kept until Forget.
type Cgroups struct {
	Root string

	mu    sync.Mutex
	v2    *bool
	paths map[string]cgroupPaths
}

type cgroupPaths struct{ cpu, memory string }

// ErrNoCgroup means no cgroup folder of the container was found: it is not running.
var ErrNoCgroup = errors.New("no cgroup for the container")

// Read returns the container's current usage.
func (c *Cgroups) Read(id string) (Usage, error) {
	p, v2, err := c.find(id)
	if err != nil {
		return Usage{}, err
	}
	if v2 {
		return readV2(p)
	}
	return readV1(p)
}

// Forget drops the folders kept for containers not in keep.
func (c *Cgroups) Forget(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.paths {
		if !keep[id] {
			delete(c.paths, id)
		}
	}
}

func (c *Cgroups) find(id string) (cgroupPaths, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.v2 == nil {
		_, err := os.Stat(filepath.Join(c.Root, "cgroup.controllers"))
		v2 := err == nil
		c.v2 = &v2
	}
	if p, ok := c.paths[id]; ok {
		return p, *c.v2, nil
	}
	var p cgroupPaths
	if *c.v2 {
		p.cpu = firstDir(c.Root, groupNames(id)...)
		p.memory = p.cpu
	} else {
		p.cpu = firstDir(c.Root, under([]string{"cpuacct", "cpu,cpuacct", "cpuacct,cpu"}, groupNames(id))...)
		p.memory = firstDir(c.Root, under([]string{"memory"}, groupNames(id))...)
	}
	if p.cpu == "" || p.memory == "" {
		return p, false, fmt.Errorf("container %.12s under %s: %w", id, c.Root, ErrNoCgroup)
	}
	if c.paths == nil {
		c.paths = map[string]cgroupPaths{}
	}
	c.paths[id] = p
	return p, *c.v2, nil
}

// groupNames are where dockerd puts a container's group: cgroupfs, then systemd.
func groupNames(id string) []string {
	return []string{filepath.Join("docker", id), filepath.Join("system.slice", "docker-"+id+".scope")}
}

func under(controllers, names []string) []string {
	var out []string
	for _, c := range controllers {
		for _, n := range names {
			out = append(out, filepath.Join(c, n))
		}
	}
	return out
}

func firstDir(root string, rels ...string) string {
	for _, rel := range rels {
		p := filepath.Join(root, rel)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
	}
	return ""
}

// readV2: cpu.stat's usage_usec; memory.current less memory.stat's inactive_file.
func readV2(p cgroupPaths) (Usage, error) {
	cpu, err := statField(filepath.Join(p.cpu, "cpu.stat"), "usage_usec")
	if err != nil {
		return Usage{}, err
	}
	mem, err := readUint(filepath.Join(p.memory, "memory.current"))
	if err != nil {
		return Usage{}, err
	}
	inactive, _ := statField(filepath.Join(p.memory, "memory.stat"), "inactive_file")
	return Usage{CPUSeconds: float64(cpu) / 1e6, MemoryBytes: mem - min(inactive, mem)}, nil
}

// readV1: cpuacct.usage (nanoseconds); memory.usage_in_bytes less total_inactive_file.
func readV1(p cgroupPaths) (Usage, error) {
	cpu, err := readUint(filepath.Join(p.cpu, "cpuacct.usage"))
	if err != nil {
		return Usage{}, err
	}
	mem, err := readUint(filepath.Join(p.memory, "memory.usage_in_bytes"))
	if err != nil {
		return Usage{}, err
	}
	inactive, _ := statField(filepath.Join(p.memory, "memory.stat"), "total_inactive_file")
	return Usage{CPUSeconds: float64(cpu) / 1e9, MemoryBytes: mem - min(inactive, mem)}, nil
}

// maxFile bounds what is read of one cgroup file (memory.stat is the longest, ~1.5 KiB).
const maxFile = 16 << 10

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", ErrNoCgroup, err)
		}
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxFile)
	n, err := f.Read(buf)
	if n == 0 && err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf[:n], nil
}

func readUint(path string) (uint64, error) {
	b, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// statField is the value of "key N" in a flat keyed file (cpu.stat, memory.stat).
func statField(path, key string) (uint64, error) {
	b, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if ok && string(k) == key {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s %s: %w", path, key, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

package sysinit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mount is one line of /proc/<pid>/mountinfo (see proc(5)).
type mount struct {
	ID       int
	Parent   int
	Point    string   // mount point, unescaped
	Optional []string // optional fields: "shared:N", "master:N", "propagate_from:N", "unbindable"
	FSType   string
	Source   string
}

// shared reports whether the mount is a member of a peer group (propagation shared).
func (m mount) shared() bool {
	for _, f := range m.Optional {
		if strings.HasPrefix(f, "shared:") {
			return true
		}
	}
	return false
}

// readMountInfo parses a mountinfo file. Errors name the file and the line.
func readMountInfo(path string) ([]mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	var mounts []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		m, err := parseMountLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("parse mount table %s:%d: %w", path, n, err)
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table %s: %w", path, err)
	}
	return mounts, nil
}

// parseMountLine parses "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw".
func parseMountLine(line string) (mount, error) {
	fields := strings.Fields(line)
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if len(fields) < 7 || sep < 0 || sep+2 >= len(fields) {
		return mount{}, fmt.Errorf("malformed line %q", line)
	}
	id, err1 := strconv.Atoi(fields[0])
	parent, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		return mount{}, fmt.Errorf("malformed mount ids in %q", line)
	}
	return mount{
		ID:       id,
		Parent:   parent,
		Point:    unescapeOctal(fields[4]),
		Optional: fields[6:sep],
		FSType:   fields[sep+1],
		Source:   unescapeOctal(fields[sep+2]),
	}, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1:i+4]) {
			v, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(v))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return len(s) == 3
}

// topMountAt returns the visible mount at exactly point (the last one stacked there).
func topMountAt(mounts []mount, point string) (mount, bool) {
	point = filepath.Clean(point)
	var found mount
	ok := false
	for _, m := range mounts {
		if m.Point == point {
			found, ok = m, true
		}
	}
	return found, ok
}

// mountsUnder returns the mounts at point or below it.
func mountsUnder(mounts []mount, point string) []mount {
	point = filepath.Clean(point)
	var out []mount
	for _, m := range mounts {
		if m.Point == point || point == "/" || strings.HasPrefix(m.Point, point+"/") {
			out = append(out, m)
		}
	}
	return out
}

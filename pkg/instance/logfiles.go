package instance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"golang.org/x/sys/unix"
)

// The log files of an instance: logs/<flavor>-<X.Y>/ is each container's /var/log/wp-dind,
// written by the site's own processes, so every read here is bounded and follows no link
// a site could have put in place of a file (`ctl logs NAME --file error.log`).

// Bounds of a log file read.
const (
	MaxLogLine = 16 << 10 // a longer line is cut
	maxTail    = 1 << 20  // the last lines come from at most this end of the file
	pollFollow = 250 * time.Millisecond
)

// LogFile is one file of an instance's log folders.
type LogFile struct {
	Role     Role      `json:"role"`
	Path     string    `json:"path"` // relative to the instance folder: logs/php-8.4/error.log
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// LogFiles lists the regular files of the log folders of comps (by role), in role order then
// by name.
func LogFiles(l Layout, comps map[Role]config.Component) ([]LogFile, error) {
	var out []LogFile
	for _, r := range Roles {
		c, ok := comps[r]
		if !ok {
			continue
		}
		entries, err := os.ReadDir(l.LogDir(c))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list log files of %q: %w", l.Name, err)
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil || !fi.Mode().IsRegular() {
				continue // gone meanwhile, or a link, a folder, a pipe
			}
			out = append(out, LogFile{Role: r, Path: l.rel(filepath.Join(l.LogDir(c), e.Name())), Size: fi.Size(), Modified: fi.ModTime()})
		}
	}
	return out, nil
}

var logNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// ErrNoLogFile is wrapped when the named log file does not exist.
var ErrNoLogFile = errors.New("no such log file")

// OpenLogFile opens name in c's log folder of the instance for reading: a plain file name,
// no link at any step from the instance folder down (O_NOFOLLOW each), a regular file.
func OpenLogFile(l Layout, c config.Component, name string) (*os.File, error) {
	if !logNameRE.MatchString(name) {
		return nil, fmt.Errorf("log file %q: give a file name such as error.log", name)
	}
	dir, err := os.Open(l.Dir())
	if err != nil {
		return nil, fmt.Errorf("open log file %s: %w", name, err)
	}
	fd := int(dir.Fd())
	defer dir.Close()
	rel := l.rel(filepath.Join(l.LogDir(c), name))
	parts := []string{logsDir, c.Dir(), name}
	for i, p := range parts {
		flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i < len(parts)-1 {
			flags |= unix.O_DIRECTORY
		} else {
			flags |= unix.O_NONBLOCK // a pipe put there must not hang the open
		}
		next, err := unix.Openat(fd, p, flags, 0)
		if i > 0 {
			unix.Close(fd)
		}
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("open %s: %w", rel, ErrNoLogFile)
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w (a link is never followed)", rel, err)
		}
		fd = next
	}
	f := os.NewFile(uintptr(fd), rel)
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file", rel)
	}
	return f, nil
}

// TailLog calls fn with the last n lines of f (every line of its last MiB when n < 0) and,
// with follow, with each line appended after them until ctx ends: a file cut short starts
// over from its beginning. Lines longer than MaxLogLine are cut.
func TailLog(ctx context.Context, f *os.File, n int, follow bool, fn func(string) error) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	start := max(end-maxTail, 0)
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if start > 0 { // the first line is only part of one
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	lines := splitLines(buf)
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	return followLog(ctx, f, end, fn)
}

// followLog reads what is appended to f from offset, polling: the site's processes write
// through a bind mount, where no notification reaches wp-dind reliably.
func followLog(ctx context.Context, f *os.File, offset int64, fn func(string) error) error {
	var partial []byte
	tick := time.NewTicker(pollFollow)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("follow %s: %w", f.Name(), err)
		}
		if fi.Size() < offset { // cut short (rotated in place): start over
			offset, partial = 0, nil
		}
		r := bufio.NewReaderSize(io.NewSectionReader(f, offset, fi.Size()-offset), MaxLogLine)
		for {
			chunk, err := r.ReadSlice('\n')
			offset += int64(len(chunk))
			if len(partial)+len(chunk) <= MaxLogLine {
				partial = append(partial, chunk...)
			}
			if err == nil {
				if err := fn(trimLine(partial)); err != nil {
					return err
				}
				partial = partial[:0]
				continue
			}
			if err != bufio.ErrBufferFull {
				break // the end of what is there: the rest of the line comes later
			}
		}
	}
}

func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		out = append(out, trimLine(line[:min(len(line), MaxLogLine)]))
	}
	return out
}

func trimLine(b []byte) string { return string(bytes.TrimRight(b, "\r\n")) }

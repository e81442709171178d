package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// maxLine caps one log line; longer output is split.
const maxLine = 64 << 10

// Line is one line of a service's output.
type Line struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // "stdout" or "stderr"
	Text   string    `json:"text"`
}

// output takes a service's stdout and stderr for its whole life: one pipe per stream, kept
// across restarts, read line by line into log records, a rotating file and a ring.
type output struct {
	log     hclog.Logger // records for wpinit's stderr, named after the service
	stdout  *os.File     // write ends, handed to every process of the service
	stderr  *os.File
	readers sync.WaitGroup

	mu   sync.Mutex
	ring *ring
	file *rotatingFile // nil: no log_dir
}

// newOutput opens the pipes and the log file and starts the readers.
func newOutput(log hclog.Logger, ringLines int, file *rotatingFile) (*output, error) {
	o := &output{log: log, ring: newRing(ringLines), file: file}
	for _, stream := range []string{"stdout", "stderr"} {
		r, w, err := os.Pipe()
		if err != nil {
			o.close()
			return nil, fmt.Errorf("create %s pipe: %w", stream, err)
		}
		if stream == "stdout" {
			o.stdout = w
		} else {
			o.stderr = w
		}
		o.readers.Add(1)
		go o.read(stream, r)
	}
	return o, nil
}

func (o *output) read(stream string, r *os.File) {
	defer o.readers.Done()
	defer r.Close()
	log := o.log.Named(stream)
	br := bufio.NewReaderSize(r, maxLine)
	for {
		text, err := br.ReadSlice('\n')
		if len(text) > 0 {
			o.line(log, stream, string(trimNewline(text)))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return // EOF: every process holding the write end is gone
		}
	}
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func (o *output) line(log hclog.Logger, stream, text string) {
	log.Info(text)
	l := Line{Time: time.Now(), Stream: stream, Text: text}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ring.add(l)
	if o.file != nil {
		if err := o.file.writeLine(l); err != nil {
			o.log.Error("failed to write log file", "error", err)
			o.file.close()
			o.file = nil
		}
	}
}

// close closes wpinit's write ends. The readers end when the last process holding them is
// gone too; the log file is closed then.
func (o *output) close() {
	for _, f := range []*os.File{o.stdout, o.stderr} {
		if f != nil {
			f.Close()
		}
	}
	go func() {
		o.readers.Wait()
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.file != nil {
			o.file.close()
			o.file = nil
		}
		for ch := range o.ring.subs {
			delete(o.ring.subs, ch)
			close(ch)
		}
	}()
}

func (o *output) tail(n int) []Line {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ring.tail(n)
}

// follow returns the last n lines and a channel of the lines that come after them.
func (o *output) follow(n int) ([]Line, <-chan Line, func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ch, cancel := o.ring.subscribe()
	return o.ring.tail(n), ch, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		cancel()
	}
}

// rotatingFile is DIR/NAME.log, rotated to NAME.log.1 .. NAME.log.N past maxSize.
type rotatingFile struct {
	path     string
	maxSize  int64
	maxFiles int
	f        *os.File
	size     int64
}

func openRotatingFile(dir, name string, maxSize int64, maxFiles int) (*rotatingFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	rf := &rotatingFile{path: filepath.Join(dir, name+".log"), maxSize: maxSize, maxFiles: maxFiles}
	return rf, rf.open()
}

func (rf *rotatingFile) open() error {
	f, err := os.OpenFile(rf.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	rf.f, rf.size = f, st.Size()
	return nil
}

func (rf *rotatingFile) writeLine(l Line) error {
	entry := fmt.Sprintf("%s %s %s\n", l.Time.UTC().Format(time.RFC3339Nano), l.Stream, l.Text)
	if rf.size > 0 && rf.size+int64(len(entry)) > rf.maxSize {
		if err := rf.rotate(); err != nil {
			return err
		}
	}
	n, err := io.WriteString(rf.f, entry)
	rf.size += int64(n)
	return err
}

// rotate shifts NAME.log.i to NAME.log.i+1, dropping the oldest, and starts a new NAME.log.
func (rf *rotatingFile) rotate() error {
	rf.f.Close()
	if rf.maxFiles == 0 {
		if err := os.Remove(rf.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove log file: %w", err)
		}
		return rf.open()
	}
	_ = os.Remove(fmt.Sprintf("%s.%d", rf.path, rf.maxFiles))
	for i := rf.maxFiles - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", rf.path, i), fmt.Sprintf("%s.%d", rf.path, i+1))
	}
	if err := os.Rename(rf.path, rf.path+".1"); err != nil {
		return fmt.Errorf("rotate log file: %w", err)
	}
	return rf.open()
}

func (rf *rotatingFile) close() { rf.f.Close() }

// ring keeps the last lines of a service for `ctl logs` and feeds followers.
type ring struct {
	lines []Line
	next  int // where the next line goes
	full  bool
	subs  map[chan Line]struct{}
}

// followBuffer is how far a follower may lag before lines are dropped for it.
const followBuffer = 256

func newRing(size int) *ring { return &ring{lines: make([]Line, size), subs: map[chan Line]struct{}{}} }

func (r *ring) add(l Line) {
	if len(r.lines) > 0 {
		r.lines[r.next] = l
		r.next = (r.next + 1) % len(r.lines)
		r.full = r.full || r.next == 0
	}
	for ch := range r.subs {
		select {
		case ch <- l:
		default: // a slow follower loses lines rather than blocking the service
		}
	}
}

// tail returns the last n lines, oldest first; n < 0 means all.
func (r *ring) tail(n int) []Line {
	count := r.next
	if r.full {
		count = len(r.lines)
	}
	if n < 0 || n > count {
		n = count
	}
	out := make([]Line, 0, n)
	for i := count - n; i < count; i++ {
		out = append(out, r.lines[(r.next-count+i+len(r.lines))%len(r.lines)])
	}
	return out
}

func (r *ring) subscribe() (chan Line, func()) {
	ch := make(chan Line, followBuffer)
	r.subs[ch] = struct{}{}
	return ch, func() {
		if _, ok := r.subs[ch]; ok {
			delete(r.subs, ch)
			close(ch)
		}
	}
}

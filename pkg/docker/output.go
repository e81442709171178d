package docker

import (
	"bytes"
	"fmt"
	"io"

	"github.com/docker/go-units"
)

// What Exec and ExecStream keep of a command's output, however much it prints: its first
// KeptHead bytes and its last KeptTail (the end explains a failure, the start what led to it).
// The rest goes to the caller's writers, or nowhere.
const (
	KeptHead = 4 << 10
	KeptTail = 64 << 10
)

// OutputError is the error of a command that printed more than its ExecIO.MaxOutput.
type OutputError struct {
	Cmd   string
	Limit int64
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("%s printed more than %s", e.Cmd, units.BytesSize(float64(e.Limit)))
}

// kept holds the first KeptHead and the last KeptTail bytes written to it.
type kept struct {
	head  []byte
	tail  []byte
	total int64
}

func (k *kept) Write(p []byte) (int, error) {
	n := len(p)
	k.total += int64(n)
	if room := KeptHead - len(k.head); room > 0 {
		take := min(room, len(p))
		k.head = append(k.head, p[:take]...)
		p = p[take:]
	}
	if len(p) >= KeptTail {
		k.tail = append(k.tail[:0], p[len(p)-KeptTail:]...)
		return n, nil
	}
	if over := len(k.tail) + len(p) - KeptTail; over > 0 {
		k.tail = append(k.tail[:0], k.tail[over:]...)
	}
	k.tail = append(k.tail, p...)
	return n, nil
}

// String is the kept output, trimmed, with what was left out between head and tail counted.
func (k *kept) String() string {
	skipped := k.total - int64(len(k.head)+len(k.tail))
	if skipped == 0 {
		return string(bytes.TrimSpace(append(k.head[:len(k.head):len(k.head)], k.tail...)))
	}
	return string(bytes.TrimSpace(k.head)) + fmt.Sprintf("\n[%d bytes not kept]\n", skipped) + string(bytes.TrimSpace(k.tail))
}

// budget counts what a command's two streams print together and fails the write that passes
// max (0: no bound), which ends the copy of the output. Both streams are written from the one
// goroutine that demultiplexes them.
type budget struct {
	n   int64
	max int64
	cmd string
}

func (b *budget) writer(w io.Writer) io.Writer {
	if b.max <= 0 {
		return w
	}
	return budgetWriter{b: b, w: w}
}

type budgetWriter struct {
	b *budget
	w io.Writer
}

func (bw budgetWriter) Write(p []byte) (int, error) {
	bw.b.n += int64(len(p))
	if bw.b.n > bw.b.max {
		return 0, &OutputError{Cmd: bw.b.cmd, Limit: bw.b.max}
	}
	return bw.w.Write(p)
}

package docker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// MaxLogLine bounds one line of a container's output handed to a follower: a site that
// prints a megabyte without a newline costs no more than this.
const MaxLogLine = 16 << 10

// LogLine is one line of a container's output.
type LogLine struct {
	Stream string // stdout or stderr
	Text   string
}

// FollowLogs calls fn with the last tail lines of the container's output, then with every
// new line until ctx ends, the container's stream ends, or fn returns an error. Lines longer
// than MaxLogLine are cut. One request, held open: the caller bounds how long (ctx).
func (c *Client) FollowLogs(ctx context.Context, id string, tail int, fn func(LogLine) error) error {
	rc, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: true, Tail: strconv.Itoa(max(tail, 0)),
	})
	if err != nil {
		return fmt.Errorf("follow logs of %s: %w", short(id), err)
	}
	defer rc.Close()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(outW, errW, rc)
		outW.CloseWithError(err)
		errW.CloseWithError(err)
	}()
	lines := make(chan LogLine)
	done := make(chan struct{})
	defer close(done)
	for _, s := range []struct {
		name string
		r    *io.PipeReader
	}{{"stdout", outR}, {"stderr", errR}} {
		go scanLines(s.name, s.r, lines, done)
	}
	for open := 2; open > 0; {
		select {
		case <-ctx.Done():
			return nil
		case l := <-lines:
			if l.Stream == "" { // a stream's end
				open--
				continue
			}
			if err := fn(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanLines sends r's lines as stream, cut at MaxLogLine, then an empty LogLine at its end.
func scanLines(stream string, r *io.PipeReader, out chan<- LogLine, done <-chan struct{}) {
	defer r.Close()
	br := bufio.NewReaderSize(r, MaxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := trimNewline(line)        // a copy: the next read reuses the buffer
			for err == bufio.ErrBufferFull { // the rest of a long line is dropped
				_, err = br.ReadSlice('\n')
			}
			select {
			case out <- LogLine{Stream: stream, Text: text}:
			case <-done:
				return
			}
		}
		if err != nil {
			select {
			case out <- LogLine{}:
			case <-done:
			}
			return
		}
	}
}

func trimNewline(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b)
}

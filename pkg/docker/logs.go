package docker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// MaxLogLine bounds one line of a container's output handed to a follower: a site that
// prints a megabyte without a newline costs no more than this.
const MaxLogLine = 16 << 10

// LogLine is one line of a container's output.
type LogLine struct {
	Stream string    // stdout or stderr
	Text   string    //
	Time   time.Time // when the engine took it (Logs); zero from FollowLogs
}

// FollowLogs calls fn with the last tail lines of the container's output, then with every
// new line until ctx ends, the container's stream ends, or fn returns an error. Lines longer
// than MaxLogLine are cut. One request, held open: the caller bounds how long (ctx).
func (c *Client) FollowLogs(ctx context.Context, id string, tail int, fn func(LogLine) error) error {
	return c.logs(ctx, id, client.ContainerLogsOptions{Follow: true, Tail: strconv.Itoa(max(tail, 0))}, fn)
}

// LogsOptions say which lines of a container's output Logs gives.
type LogsOptions struct {
	Tail   int       // the last Tail lines (of those since Since); every one when negative
	Since  time.Time // only the lines taken after it; zero: from the first
	Follow bool      // then every new line, until ctx ends or the container's stream does
}

// Logs is FollowLogs with the time of each line, which lets the lines of several containers
// be put in order, and the choice not to follow.
func (c *Client) Logs(ctx context.Context, id string, o LogsOptions, fn func(LogLine) error) error {
	opts := client.ContainerLogsOptions{Follow: o.Follow, Timestamps: true, Tail: "all"}
	if o.Tail >= 0 {
		opts.Tail = strconv.Itoa(o.Tail)
	}
	if !o.Since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", o.Since.Unix(), o.Since.Nanosecond())
	}
	return c.logs(ctx, id, opts, fn)
}

func (c *Client) logs(ctx context.Context, id string, opts client.ContainerLogsOptions, fn func(LogLine) error) error {
	opts.ShowStdout, opts.ShowStderr = true, true
	rc, err := c.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return fmt.Errorf("logs of %s: %w", short(id), err)
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
		go scanLines(s.name, s.r, opts.Timestamps, lines, done)
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

// scanLines sends r's lines as stream, cut at MaxLogLine, then an empty LogLine at its end;
// stamped lines start with the engine's RFC 3339 time and a space.
func scanLines(stream string, r *io.PipeReader, stamped bool, out chan<- LogLine, done <-chan struct{}) {
	defer r.Close()
	br := bufio.NewReaderSize(r, MaxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := trimNewline(line)        // a copy: the next read reuses the buffer
			for err == bufio.ErrBufferFull { // the rest of a long line is dropped
				_, err = br.ReadSlice('\n')
			}
			l := LogLine{Stream: stream, Text: text}
			if stamped {
				l.Time, l.Text = splitStamp(text)
			}
			select {
			case out <- l:
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

// splitStamp splits a line of a stamped stream into its time and its text; a line without a
// time (a long line's cut end) keeps its text.
func splitStamp(line string) (time.Time, string) {
	stamp, text, ok := strings.Cut(line, " ")
	if !ok {
		stamp, text = line, ""
	}
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return time.Time{}, line
	}
	return t, text
}

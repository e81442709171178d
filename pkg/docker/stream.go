package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecIO is a command run in a container with streams: Stdin (nil for none) is copied to
// the command and closed at its end; Stdout (nil to discard) receives the output as it
// comes. Nothing is held in memory but the tail of stderr.
type ExecIO struct {
	User   string
	Cmd    []string
	Env    []string // added to the container's environment for this command only
	Stdin  io.Reader
	Stdout io.Writer
}

// ExecStream runs e.Cmd in the container and streams its standard input and output; it
// returns the exit code and the tail of stderr. ctx bounds the whole run (a dump or an
// import gives it its own deadline); when it ends, the connection is closed.
func (c *Client) ExecStream(ctx context.Context, id string, e ExecIO) (ExecResult, error) {
	what := fmt.Sprintf("exec %s in %s", e.Cmd[0], short(id))
	cctx, cancel := c.call(ctx)
	created, err := c.api.ExecCreate(cctx, id, client.ExecCreateOptions{
		User: e.User, Cmd: e.Cmd, Env: e.Env, AttachStdin: e.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	cancel()
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, err)
	}
	att, err := c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, err)
	}
	var closeOnce sync.Once
	closeConn := func() { closeOnce.Do(att.Close) }
	defer closeConn()
	stop := context.AfterFunc(ctx, closeConn) // unblocks both copies
	defer stop()

	// A failed read of the source closes the connection: the command must not take a
	// truncated input for a complete one. A failed write only means the command stopped
	// reading; its exit code says why.
	src := &readErr{r: e.Stdin}
	stdinDone := make(chan struct{})
	if e.Stdin != nil {
		go func() {
			defer close(stdinDone)
			if _, err := io.Copy(att.Conn, src); err != nil {
				closeConn()
				return
			}
			_ = att.CloseWrite()
		}()
	} else {
		close(stdinDone)
	}
	stdout := e.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	stderr := &tailWriter{max: maxOutput}
	_, copyErr := stdcopy.StdCopy(stdout, stderr, att.Reader)
	closeConn()
	<-stdinDone
	if ctx.Err() != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if src.err != nil {
		return ExecResult{}, fmt.Errorf("%s: read standard input: %w", what, src.err)
	}
	if copyErr != nil {
		return ExecResult{}, fmt.Errorf("%s: copy output: %w", what, copyErr)
	}
	code, err := c.execExit(ctx, created.ID)
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w", what, err)
	}
	return ExecResult{ExitCode: code, Output: tail(stderr.Bytes())}, nil
}

// execExit waits for an exec whose streams have ended to be reported finished.
func (c *Client) execExit(ctx context.Context, execID string) (int, error) {
	for {
		cctx, cancel := c.call(ctx)
		ins, err := c.api.ExecInspect(cctx, execID, client.ExecInspectOptions{})
		cancel()
		if err != nil {
			return 0, fmt.Errorf("inspect exec: %w", err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SignalContainer sends signal ("SIGUSR2", "USR2") to the container's main process.
func (c *Client) SignalContainer(ctx context.Context, id, signal string) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal}); err != nil {
		return fmt.Errorf("send %s to container %s: %w", signal, short(id), err)
	}
	return nil
}

// readErr remembers the error of its reader (io.EOF excluded).
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// tailWriter keeps the last max bytes written to it: a command's stderr, however long.
type tailWriter struct {
	max int
	buf []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= w.max {
		w.buf = append(w.buf[:0], p[len(p)-w.max:]...)
		return n, nil
	}
	if over := len(w.buf) + len(p) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	w.buf = append(w.buf, p...)
	return n, nil
}

func (w *tailWriter) Bytes() []byte { return w.buf }

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
// comes, and Stderr (nil for none) the error output. Nothing is held in memory but the start
// and the end of stderr (KeptHead, KeptTail).
type ExecIO struct {
	User   string
	Cmd    []string
	Env    []string // added to the container's environment for this command only
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// MaxOutput > 0 bounds what stdout and stderr may print together: past it the copy stops,
	// the connection is closed and the call fails with an *OutputError. The command itself
	// is left to dockerd, which drains what it prints until it ends.
	MaxOutput int64
}

// ExecStream runs e.Cmd in the container and streams its standard input and output; it
// returns the exit code and the kept part of stderr. ctx bounds the whole run (a dump or an
// import gives it its own deadline); when it ends, the connection is closed.
func (c *Client) ExecStream(ctx context.Context, id string, e ExecIO) (ExecResult, error) {
	stdout := e.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	errOut := &kept{}
	var stderr io.Writer = errOut
	if e.Stderr != nil {
		stderr = io.MultiWriter(errOut, e.Stderr)
	}
	code, err := c.exec(ctx, id, e, stdout, stderr)
	if err != nil {
		return ExecResult{}, err
	}
	return ExecResult{ExitCode: code, Output: errOut.String()}, nil
}

// exec runs e.Cmd with e.Stdin, copies its output to stdout and stderr within e.MaxOutput,
// and returns its exit code.
func (c *Client) exec(ctx context.Context, id string, e ExecIO, stdout, stderr io.Writer) (int, error) {
	what := fmt.Sprintf("exec %s in %s", e.Cmd[0], short(id))
	cctx, cancel := c.call(ctx)
	created, err := c.api.ExecCreate(cctx, id, client.ExecCreateOptions{
		User: e.User, Cmd: e.Cmd, Env: e.Env, AttachStdin: e.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	cancel()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	att, err := c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
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
	b := &budget{max: e.MaxOutput, cmd: e.Cmd[0]}
	_, copyErr := stdcopy.StdCopy(b.writer(stdout), b.writer(stderr), att.Reader)
	closeConn()
	<-stdinDone
	var over *OutputError
	switch {
	case ctx.Err() != nil:
		return 0, fmt.Errorf("%s: %w", what, ctx.Err())
	case errors.As(copyErr, &over):
		return 0, fmt.Errorf("%s: %w", what, over)
	case src.err != nil:
		return 0, fmt.Errorf("%s: read standard input: %w", what, src.err)
	case copyErr != nil:
		return 0, fmt.Errorf("%s: copy output: %w", what, copyErr)
	}
	code, err := c.execExit(ctx, created.ID)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return code, nil
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

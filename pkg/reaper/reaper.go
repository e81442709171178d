package reaper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// ExitStatus is how a process ended.
type ExitStatus struct {
	Pid    int         `json:"pid"`
	Code   int         `json:"code"`   // exit code; -1 when killed by a signal
	Signal unix.Signal `json:"signal"` // the signal that killed it; 0 when it exited
}

// Exited reports whether the process exited by itself with code.
func (e ExitStatus) Exited(code int) bool { return e.Signal == 0 && e.Code == code }

func (e ExitStatus) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("signal %d (%s)", int(e.Signal), unix.SignalName(e.Signal))
	}
	return fmt.Sprintf("exit %d", e.Code)
}

func statusOf(pid int, ws unix.WaitStatus) ExitStatus {
	if ws.Signaled() {
		return ExitStatus{Pid: pid, Code: -1, Signal: ws.Signal()}
	}
	return ExitStatus{Pid: pid, Code: ws.ExitStatus()}
}

// Options tune a Reaper.
type Options struct {
	// Sweep makes Run, when its context ends, signal every process still left (TERM, then
	// KILL after SweepGrace) and reap them all before it returns: the end of a PID 1.
	Sweep      bool
	SweepGrace time.Duration
}

// Reaper owns the waiting for every child of this process.
type Reaper struct {
	log  hclog.Logger
	opts Options
	kick chan struct{}

	mu      sync.Mutex // held across fork and registration, and while dispatching a status
	waiting map[int]chan ExitStatus

	reaped  atomic.Uint64
	orphans atomic.Uint64
}

// New returns a Reaper; it reaps only while Run runs.
func New(log hclog.Logger, opts Options) *Reaper {
	return &Reaper{log: log, opts: opts, kick: make(chan struct{}, 1), waiting: map[int]chan ExitStatus{}}
}

// Kick tells the reaper that a SIGCHLD arrived. It never blocks: kicks that arrive while one
// is pending fold into it, which is enough because every kick reaps until nothing is left.
func (r *Reaper) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Reaped is the number of processes reaped so far; Orphans those of them nobody started
// through Start (reparented orphans, or children of exited services).
func (r *Reaper) Reaped() uint64  { return r.reaped.Load() }
func (r *Reaper) Orphans() uint64 { return r.orphans.Load() }

// Start starts cmd and returns its pid and a channel that receives its exit status once.
// cmd's standard streams must be nil or *os.File: any other io.Writer would need
// exec.Cmd.Wait, which must not be called. The caller closes its copies of the child's ends.
func (r *Reaper) Start(cmd *exec.Cmd) (int, <-chan ExitStatus, error) {
	for _, f := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		if _, ok := f.(*os.File); f != nil && !ok {
			return 0, nil, errors.New("start process: standard streams must be *os.File")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start process %q: %w", cmd.Path, err)
	}
	pid := cmd.Process.Pid
	ch := make(chan ExitStatus, 1)
	r.waiting[pid] = ch
	_ = cmd.Process.Release() // drop the pidfd; waiting is ours
	return pid, ch, nil
}

// Run reaps until ctx ends; with Options.Sweep it then ends every process left. When it is
// not PID 1 it registers as child subreaper first, so orphans of its children come to it.
func (r *Reaper) Run(ctx context.Context) error {
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("register as child subreaper: %w", err)
		}
		r.log.Info("not running as pid 1: registered as child subreaper", "pid", os.Getpid())
	}
	r.reap()
	for {
		select {
		case <-r.kick:
			r.reap()
		case <-ctx.Done():
			if r.opts.Sweep {
				r.sweep()
			}
			return nil
		}
	}
}

// reap collects every child that has exited and reports whether children remain.
func (r *Reaper) reap() (children bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return false
		case err != nil:
			r.log.Error("failed to wait for children", "error", err)
			return true
		case pid <= 0:
			return true
		}
		r.dispatch(statusOf(pid, ws))
	}
}

func (r *Reaper) dispatch(st ExitStatus) {
	r.reaped.Add(1)
	r.mu.Lock()
	ch, ok := r.waiting[st.Pid]
	delete(r.waiting, st.Pid)
	r.mu.Unlock()
	if ok {
		ch <- st // buffered, received at most once
		return
	}
	r.orphans.Add(1)
	r.log.Trace("reaped orphan", "pid", st.Pid, "status", st.String())
}

// Spawner starts processes through a Reaper; tests may stand in for one.
type Spawner interface {
	Start(cmd *exec.Cmd) (int, <-chan ExitStatus, error)
}

// RunCmd starts cmd through s in a process group of its own and waits for its exit. When ctx
// ends first, the group is killed and ctx's error returned. A non-zero exit is an error.
func RunCmd(ctx context.Context, s Spawner, cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &unix.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	pid, exit, err := s.Start(cmd)
	if err != nil {
		return err
	}
	select {
	case st := <-exit:
		if !st.Exited(0) {
			return fmt.Errorf("run %s: %s", cmd.Args[0], st)
		}
		return nil
	case <-ctx.Done():
		_ = unix.Kill(-pid, unix.SIGKILL)
		<-exit
		return ctx.Err()
	}
}

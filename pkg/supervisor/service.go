package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"golang.org/x/sys/unix"
)

// State of a service, named as supervisord names them.
type State string

const (
	Stopped  State = "STOPPED"  // not running, by request or never started
	Starting State = "STARTING" // waiting for dependencies, or spawned and not yet started
	Running  State = "RUNNING"  // up for start_secs and ready
	Backoff  State = "BACKOFF"  // a start failed; waiting to try again
	Stopping State = "STOPPING" // stop signal sent, waiting for the exit
	Exited   State = "EXITED"   // ended and not restarted, as its policy says
	Fatal    State = "FATAL"    // too many failed starts; only a manual start revives it
)

// ErrNotRunning is returned when a signal is sent to a service without a process.
var ErrNotRunning = errors.New("service not running")

// killWait bounds the wait for the exit after SIGKILL when the service is torn down.
const killWait = 5 * time.Second

// Status is a snapshot of one service.
type Status struct {
	Name     string             `json:"name"`
	State    State              `json:"state"`
	Pid      int                `json:"pid"`
	Ready    bool               `json:"ready"`
	Started  time.Time          `json:"started"` // spawn time of the current process
	Restarts int                `json:"restarts"`
	LastExit *reaper.ExitStatus `json:"last_exit,omitempty"`
	Error    string             `json:"error,omitempty"` // why the last start failed, or what it waits for
	Critical bool               `json:"critical"`
	Config   *config.Service    `json:"-"`
}

// env is what a Service needs from its Supervisor.
type env interface {
	Starter
	depsReady(names []string) bool
	waitDeps(ctx context.Context, names []string) error
	fatal(name string)
	stopping() bool // the Supervisor is stopping: spawn nothing
}

type op int

const (
	opStart op = iota
	opStop
	opKill // stop at once: SIGKILL to the group
	opRestart
	opSignal
)

type command struct {
	op    op
	sig   unix.Signal
	reply chan error
}

// Service supervises one process. Run owns it; the other methods talk to Run.
type Service struct {
	cfg    *config.Service
	log    hclog.Logger
	env    env
	out    *output
	notify *notifySocket // nil unless ready.notify
	cmds   chan command
	done   chan struct{} // closed when Run has returned

	mu         sync.Mutex
	status     Status
	readyCh    chan struct{} // closed while ready
	settledCh  chan struct{} // closed once ready, EXITED or FATAL for the first time
	settleOnce sync.Once
}

func newService(cfg *config.Service, log hclog.Logger, e env, out *output, notify *notifySocket) *Service {
	return &Service{
		cfg: cfg, log: log, env: e, out: out, notify: notify,
		cmds:      make(chan command),
		done:      make(chan struct{}),
		status:    Status{Name: cfg.Name, State: Stopped, Critical: cfg.Critical, Config: cfg},
		readyCh:   make(chan struct{}),
		settledCh: make(chan struct{}),
	}
}

// Status returns a snapshot.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// readyChan is closed while the service is ready.
func (s *Service) readyChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyCh
}

// send delivers a command to Run and waits for its answer, or for ctx.
func (s *Service) send(ctx context.Context, c command) error {
	c.reply = make(chan error, 1)
	select {
	case s.cmds <- c:
	case <-s.done:
		return fmt.Errorf("service %q: removed", s.cfg.Name)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start starts the service unless it runs; it forgets earlier failed starts.
func (s *Service) Start(ctx context.Context) error { return s.send(ctx, command{op: opStart}) }

// Stop stops the service and waits until its process has exited. When ctx ends first the
// process group is killed and Stop still waits for the exit.
func (s *Service) Stop(ctx context.Context) error {
	err := s.send(ctx, command{op: opStop})
	if ctx.Err() != nil {
		kill, cancel := context.WithTimeout(context.Background(), killWait)
		defer cancel()
		err = s.send(kill, command{op: opKill})
	}
	return err
}

// Kill stops the service at once with SIGKILL to its process group.
func (s *Service) Kill(ctx context.Context) error { return s.send(ctx, command{op: opKill}) }

// Restart stops the service if it runs and starts it again.
func (s *Service) Restart(ctx context.Context) error { return s.send(ctx, command{op: opRestart}) }

// Signal sends sig to the service's main process.
func (s *Service) Signal(ctx context.Context, sig unix.Signal) error {
	return s.send(ctx, command{op: opSignal, sig: sig})
}

// Run supervises the process until ctx ends, then kills whatever is left of it. Stop the
// service first for a graceful end.
func (s *Service) Run(ctx context.Context) error {
	defer close(s.done)
	l := newLoop(s)
	defer l.teardown()
	if s.cfg.Autostart {
		l.start()
	}
	l.publish()
	for {
		l.flush()
		select {
		case <-ctx.Done():
			return nil
		case c := <-s.cmds:
			l.handle(c)
		case st := <-l.exit:
			l.exited(st)
		case <-l.startSecs.C():
			l.startSecs.fired()
			l.upLong = true
			l.promote()
		case <-l.readyTimeout.C():
			l.readyTimeout.fired()
			l.notReady()
		case <-l.timer.C():
			l.timer.fired()
			l.timerFired()
		case <-l.ready:
			l.becameReady()
		case <-l.notifyC():
			l.becameReady()
		case err := <-l.deps:
			l.depsDone(err)
		}
		l.publish()
	}
}

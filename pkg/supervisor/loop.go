package supervisor

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wp-dind/wp-dind/pkg/reaper"
	"golang.org/x/sys/unix"
)

// alarm is a reusable timer whose channel is nil while it is not set, so that a select on
// it costs nothing between uses.
type alarm struct {
	t  *time.Timer
	on bool
}

func (a *alarm) set(d time.Duration) {
	if a.t == nil {
		a.t = time.NewTimer(d)
	} else {
		a.t.Reset(d)
	}
	a.on = true
}

func (a *alarm) clear() {
	if a.on {
		a.t.Stop()
		a.on = false
	}
}

func (a *alarm) fired() { a.on = false }

func (a *alarm) C() <-chan time.Time {
	if !a.on {
		return nil
	}
	return a.t.C
}

// stopReason says what a STOPPING state ends in.
type stopReason int

const (
	stopRequested stopReason = iota // by a command: STOPPED
	stopNotReady                    // readiness timeout: a failed start
)

// loop is the state of Service.Run: only that goroutine touches it.
type loop struct {
	s       *Service
	tracker *Tracker
	env     []string // the process environment, computed once

	state    State
	pid      int
	exit     <-chan reaper.ExitStatus
	started  time.Time
	upLong   bool // start_secs passed for the current process
	isReady  bool
	spawned  bool
	restarts int
	lastExit *reaper.ExitStatus
	errMsg   string

	startSecs, readyTimeout, timer alarm // timer: backoff delay or stop timeout

	ready       chan struct{} // the current probe's success
	probeCancel context.CancelFunc
	deps        chan error // the current dependency wait
	depsCancel  context.CancelFunc

	reason       stopReason
	waiters      []chan error // replies due when the process has exited
	startAfterIt bool         // start again once stopped (restart)
	outbox       []reply      // answers sent after the next publish
}

type reply struct {
	ch  chan error
	err error
}

// answer queues a command's reply. Replies go out after publish, so that a caller sees
// the state its command led to as soon as it has its answer.
func (l *loop) answer(ch chan error, err error) { l.outbox = append(l.outbox, reply{ch, err}) }

func (l *loop) flush() {
	for _, r := range l.outbox {
		r.ch <- r.err // buffered, one answer per command
	}
	l.outbox = l.outbox[:0]
}

func newLoop(s *Service) *loop {
	return &loop{s: s, tracker: NewTracker(s.cfg), env: processEnv(s), state: Stopped}
}

// processEnv is wpinit's environment (without its own NOTIFY_SOCKET) plus the service's.
func processEnv(s *Service) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") })
	keys := make([]string, 0, len(s.cfg.Env))
	for k := range s.cfg.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.cfg.Env[k])
	}
	if s.notify != nil {
		env = append(env, "NOTIFY_SOCKET="+s.notify.path)
	}
	return env
}

func (l *loop) notifyC() <-chan struct{} {
	if l.s.notify == nil {
		return nil
	}
	return l.s.notify.ready
}

func (l *loop) handle(c command) {
	switch c.op {
	case opStart:
		switch l.state {
		case Stopped, Exited, Fatal, Backoff:
			l.timer.clear()
			l.tracker.Reset()
			l.start()
		case Stopping:
			l.startAfterIt = true
		}
		l.answer(c.reply, nil)
	case opStop, opKill:
		l.startAfterIt = false
		l.stop(c.op == opKill, c.reply)
	case opRestart:
		l.tracker.Reset()
		if l.pid != 0 {
			l.startAfterIt = true
			l.stop(false, c.reply)
			return
		}
		l.cancelDeps()
		l.timer.clear()
		l.start()
		l.answer(c.reply, nil)
	case opSignal:
		if l.pid == 0 {
			l.answer(c.reply, ErrNotRunning)
			return
		}
		l.answer(c.reply, unix.Kill(l.pid, c.sig))
	}
}

// start spawns the process now when every dependency is ready, or waits for them.
func (l *loop) start() {
	l.errMsg = ""
	deps := l.s.cfg.DependsOn
	if len(deps) == 0 || l.s.env.depsReady(deps) {
		l.spawn()
		return
	}
	l.state = Starting
	l.errMsg = "waiting for " + strings.Join(deps, ", ")
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	l.deps, l.depsCancel = ch, cancel
	go func() { ch <- l.s.env.waitDeps(ctx, deps) }()
}

func (l *loop) cancelDeps() {
	if l.depsCancel != nil {
		l.depsCancel()
		l.deps, l.depsCancel = nil, nil
	}
}

func (l *loop) depsDone(err error) {
	l.deps, l.depsCancel = nil, nil
	if err == nil && l.state == Starting && l.pid == 0 {
		l.spawn()
	}
}

func (l *loop) command() *exec.Cmd {
	cfg := l.s.cfg
	attr := &syscall.SysProcAttr{Setpgid: true}
	if c := cfg.Credential; c != nil {
		attr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: c.Groups}
	}
	return &exec.Cmd{
		Path: cfg.Path, Args: append([]string{cfg.Command}, cfg.Args...), Env: l.env, Dir: cfg.Dir,
		Stdout: l.s.out.stdout, Stderr: l.s.out.stderr, SysProcAttr: attr,
	}
}

func (l *loop) spawn() {
	if l.s.env.stopping() {
		l.state, l.errMsg = Stopped, "not started: stopping"
		l.s.log.Info("service not started: stopping")
		return
	}
	pid, exit, err := l.s.env.Start(l.command())
	if err != nil {
		l.errMsg = err.Error()
		l.s.log.Error("failed to start service", "error", err)
		l.apply(l.tracker.Failed())
		return
	}
	if l.spawned {
		l.restarts++
	}
	l.spawned = true
	l.state, l.pid, l.exit, l.started, l.upLong = Starting, pid, exit, time.Now(), false
	l.s.log.Info("service started", "pid", pid, "attempt", l.tracker.Failures()+1)
	if d := l.s.cfg.StartSecs.D(); d > 0 {
		l.startSecs.set(d)
	} else {
		l.upLong = true
	}
	l.watchReadiness()
	l.promote()
}

// watchReadiness starts the configured check for the new process; with none the service
// is ready as soon as it is spawned.
func (l *loop) watchReadiness() {
	r := l.s.cfg.Ready
	switch r.Kind() {
	case "":
		l.isReady = true
		return
	case "notify":
		select {
		case <-l.s.notify.ready: // a READY=1 left from the previous process
		default:
		}
	default:
		ctx, cancel := context.WithCancel(context.Background())
		l.ready, l.probeCancel = make(chan struct{}, 1), cancel
		go probe(ctx, r, l.s.cfg.ReadyPath, l.s.env, l.ready)
	}
	l.readyTimeout.set(r.Timeout.D())
}

func (l *loop) cancelProbe() {
	if l.probeCancel != nil {
		l.probeCancel()
		l.ready, l.probeCancel = nil, nil
	}
}

func (l *loop) becameReady() {
	if l.state != Starting || l.pid == 0 || l.isReady {
		return
	}
	l.cancelProbe()
	l.readyTimeout.clear()
	l.isReady = true
	l.s.log.Info("service ready", "pid", l.pid, "duration", time.Since(l.started).Round(time.Millisecond))
	l.promote()
}

// promote moves STARTING to RUNNING once the process is up for start_secs and ready.
func (l *loop) promote() {
	if l.state == Starting && l.pid != 0 && l.upLong && l.isReady {
		l.state = Running
		l.errMsg = ""
	}
}

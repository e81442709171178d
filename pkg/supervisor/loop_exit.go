package supervisor

import (
	"errors"
	"fmt"
	"time"

	"github.com/wp-dind/wp-dind/pkg/reaper"
	"golang.org/x/sys/unix"
)

// stop ends the process: the stop signal to the leader, SIGKILL to the group after
// stop_timeout (or at once with kill). reply is answered when the process has exited.
func (l *loop) stop(kill bool, reply chan error) {
	if l.pid == 0 {
		l.cancelDeps()
		l.timer.clear()
		if l.state == Starting || l.state == Backoff {
			l.state, l.errMsg = Stopped, ""
		}
		l.finishStop(reply)
		return
	}
	l.reason = stopRequested
	l.waiters = append(l.waiters, reply)
	if l.state == Stopping && !kill {
		return
	}
	l.beginStop(kill)
}

// finishStop answers a stop or restart whose process is gone, starting again for a restart.
func (l *loop) finishStop(reply chan error) {
	if l.startAfterIt {
		l.startAfterIt = false
		l.start()
	}
	l.answer(reply, nil)
}

func (l *loop) beginStop(kill bool) {
	l.state = Stopping
	l.startSecs.clear()
	l.readyTimeout.clear()
	l.cancelProbe()
	l.isReady = false
	if kill {
		l.killGroup()
		return
	}
	sig := l.s.cfg.StopSignal.S()
	l.s.log.Info("stopping service", "pid", l.pid, "signal", unix.SignalName(sig))
	if err := unix.Kill(l.pid, sig); err != nil {
		l.s.log.Warn("failed to send stop signal", "pid", l.pid, "error", err)
	}
	l.timer.set(l.s.cfg.StopTimeout.D())
}

// killGroup sends SIGKILL to the process group: the leader and whatever it spawned.
func (l *loop) killGroup() {
	l.timer.clear()
	if err := unix.Kill(-l.pid, unix.SIGKILL); err != nil {
		l.s.log.Warn("failed to kill process group", "pid", l.pid, "error", err)
	}
}

// killLeftovers sends SIGKILL to what is left of the process group of a leader that has
// exited, as systemd does for a service's cgroup. A leader killed by a signal leaves its
// workers behind (php-fpm's children, nginx's workers, dockerd's docker-proxy), still
// holding the listening sockets, and the restarted service could not bind them again. The
// group id stays reserved while any member lives, so the signal cannot reach another group.
func (l *loop) killLeftovers(pgid int) {
	if pgid <= 0 {
		return
	}
	switch err := unix.Kill(-pgid, unix.SIGKILL); {
	case err == nil:
		l.s.log.Info("killed leftover processes of the service's group", "pgid", pgid)
	case !errors.Is(err, unix.ESRCH):
		l.s.log.Warn("failed to kill leftover processes", "pgid", pgid, "error", err)
	}
}

// notReady handles the readiness timeout: the start failed, the process is stopped.
func (l *loop) notReady() {
	if l.state != Starting || l.pid == 0 {
		return
	}
	l.errMsg = fmt.Sprintf("not ready within %s (%s check)", l.s.cfg.Ready.Timeout.D(), l.s.cfg.Ready.Kind())
	l.s.log.Warn("service not ready in time", "pid", l.pid, "timeout", l.s.cfg.Ready.Timeout.D())
	l.reason = stopNotReady
	l.beginStop(false)
}

func (l *loop) timerFired() {
	switch l.state {
	case Backoff:
		l.start()
	case Stopping:
		l.s.log.Warn("stop timeout: killing process group", "pid", l.pid, "timeout", l.s.cfg.StopTimeout.D())
		l.killGroup()
	}
}

func (l *loop) exited(st reaper.ExitStatus) {
	was := l.state
	l.exit, l.pid, l.lastExit = nil, 0, &st
	l.startSecs.clear()
	l.readyTimeout.clear()
	l.timer.clear()
	l.cancelProbe()
	l.isReady = false
	l.s.log.Info("service exited", "pid", st.Pid, "status", st.String(), "state", string(was))
	l.killLeftovers(st.Pid)
	switch {
	case was == Stopping && l.reason == stopRequested:
		l.state = Stopped
		waiters := l.waiters
		l.waiters = nil
		for i, w := range waiters {
			if i == len(waiters)-1 {
				l.finishStop(w) // the last restart or stop decides whether it starts again
			} else {
				l.answer(w, nil)
			}
		}
	case was == Stopping: // stopped for not becoming ready
		l.apply(l.tracker.Failed())
	default:
		l.apply(l.tracker.Exited(st, was == Running))
	}
}

func (l *loop) apply(d Decision) {
	switch d.Action {
	case ActRestart:
		l.start()
	case ActBackoff:
		l.state = Backoff
		l.timer.set(d.Delay)
		l.s.log.Info("start failed, backing off", "delay", d.Delay, "attempt", l.tracker.Failures())
	case ActDone:
		l.state = Exited
	case ActFatal:
		l.state = Fatal
		l.s.log.Error("service failed for good", "attempts", l.tracker.Failures(), "critical", l.s.cfg.Critical)
		if l.s.cfg.Critical {
			l.s.env.fatal(l.s.cfg.Name)
		}
	}
}

// publish copies the loop's state into the snapshot read by Status and the dependents.
func (l *loop) publish() {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	st.State, st.Pid, st.Restarts, st.LastExit, st.Error = l.state, l.pid, l.restarts, l.lastExit, l.errMsg
	st.Started = time.Time{}
	if l.pid != 0 {
		st.Started = l.started
	}
	if l.isReady != st.Ready {
		st.Ready = l.isReady
		if l.isReady {
			close(s.readyCh)
		} else {
			s.readyCh = make(chan struct{})
		}
	}
	if l.isReady || l.state == Exited || l.state == Fatal {
		s.settleOnce.Do(func() { close(s.settledCh) })
	}
}

// teardown ends Run: the process group is killed and reaped, pending replies answered,
// pipes and the notify socket closed.
func (l *loop) teardown() {
	l.cancelDeps()
	l.cancelProbe()
	l.startAfterIt = false
	if l.pid != 0 {
		l.state, l.reason = Stopping, stopRequested
		l.killGroup()
		select {
		case st := <-l.exit:
			l.exited(st)
		case <-time.After(killWait):
			l.s.log.Error("failed to reap killed service", "pid", l.pid)
		}
	}
	for _, w := range l.waiters {
		l.answer(w, nil)
	}
	l.startSecs.clear()
	l.readyTimeout.clear()
	l.timer.clear()
	l.state, l.isReady, l.startAfterIt = Stopped, false, false
	l.publish()
	l.flush()
	l.s.out.close()
	if l.s.notify != nil {
		l.s.notify.close()
	}
}

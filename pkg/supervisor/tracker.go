package supervisor

import (
	"slices"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
)

// Action is what a service does after its process ended or failed to start.
type Action int

const (
	ActRestart Action = iota // start again now
	ActBackoff               // start again after Decision.Delay
	ActDone                  // stay down: EXITED
	ActFatal                 // give up: FATAL
)

func (a Action) String() string {
	return [...]string{"restart", "backoff", "done", "fatal"}[a]
}

// Decision is the tracker's answer to one exit.
type Decision struct {
	Action Action
	Delay  time.Duration // for ActBackoff
}

// Tracker decides restarts from a service's policy and its recent history. It is pure: no
// clock, no process, so every rule is unit-tested.
//
// A start fails when the process ends (or is stopped for not becoming ready) before it
// counts as started: up for start_secs and ready. Failed starts back off exponentially from
// backoff to backoff_max; after start_retries retries the service is FATAL. A process that
// had started restarts at once (policy permitting) and clears the failure count.
type Tracker struct {
	restart    string
	exitCodes  []int
	retries    int
	backoff    time.Duration
	backoffMax time.Duration
	failures   int // consecutive failed starts
}

// NewTracker returns a Tracker for the policy of svc.
func NewTracker(svc *config.Service) *Tracker {
	return &Tracker{
		restart:    svc.Restart,
		exitCodes:  svc.ExitCodes,
		retries:    svc.StartRetries,
		backoff:    svc.Backoff.D(),
		backoffMax: svc.BackoffMax.D(),
	}
}

// Exited decides after the process ended with st; started says whether it had counted as
// started.
func (t *Tracker) Exited(st reaper.ExitStatus, started bool) Decision {
	expected := st.Signal == 0 && slices.Contains(t.exitCodes, st.Code)
	if started {
		t.failures = 0
		if t.restart == config.RestartAlways || (t.restart == config.RestartOnFailure && !expected) {
			return Decision{Action: ActRestart}
		}
		return Decision{Action: ActDone}
	}
	if expected && t.restart != config.RestartAlways {
		return Decision{Action: ActDone} // a one-shot task that finished within start_secs
	}
	return t.Failed()
}

// Failed decides after a start that failed without a normal exit: the process could not be
// spawned, or was stopped because it did not become ready in time.
func (t *Tracker) Failed() Decision {
	t.failures++
	if t.failures > t.retries {
		return Decision{Action: ActFatal}
	}
	delay := t.backoff
	for i := 1; i < t.failures && delay < t.backoffMax; i++ {
		delay *= 2
	}
	return Decision{Action: ActBackoff, Delay: min(delay, t.backoffMax)}
}

// Failures is the number of consecutive failed starts.
func (t *Tracker) Failures() int { return t.failures }

// Reset forgets the failures, as a start asked for by hand does.
func (t *Tracker) Reset() { t.failures = 0 }

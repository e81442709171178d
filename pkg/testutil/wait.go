package testutil

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test after timeout with what. It polls
// fast at first (1 ms) and backs off to 100 ms, so a quick condition costs no fixed sleep
// and a slow one does not spin.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if err := Poll(timeout, cond); err != nil {
		tb.Fatalf("%s: not within %s", what, timeout)
	}
}

// errTimeout is Poll's answer when cond never held.
type errTimeout struct{}

func (errTimeout) Error() string { return "timed out" }

// Poll is WaitFor without a test: it returns an error when cond has not held within timeout.
// Benchmarks and helpers that report instead of failing use it.
func Poll(timeout time.Duration, cond func() bool) error {
	return PollEvery(timeout, 100*time.Millisecond, cond)
}

// PollEvery is Poll backing off to at most every: for a condition that costs a process
// (a docker CLI call), so a long wait does not load the machine.
func PollEvery(timeout, every time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout{}
		}
		time.Sleep(delay)
		delay = min(2*delay, every)
	}
	return nil
}

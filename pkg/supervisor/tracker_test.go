package supervisor

import (
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
	"golang.org/x/sys/unix"
)

// step is one event fed to a Tracker: an exit (started or not) or a failed spawn.
type step struct {
	exit    *reaper.ExitStatus // nil: Failed()
	started bool
	want    Decision
}

func exitCode(c int) *reaper.ExitStatus { return &reaper.ExitStatus{Code: c} }
func killed(s unix.Signal) *reaper.ExitStatus {
	return &reaper.ExitStatus{Code: -1, Signal: s}
}

func backoff(ms int) Decision {
	return Decision{Action: ActBackoff, Delay: time.Duration(ms) * time.Millisecond}
}

var (
	restart = Decision{Action: ActRestart}
	done    = Decision{Action: ActDone}
	fatal   = Decision{Action: ActFatal}
)

func TestTracker(t *testing.T) {
	tests := []struct {
		name    string
		restart string
		retries int
		steps   []step
	}{
		{"always restarts a started process at once", config.RestartAlways, 3, []step{
			{exitCode(0), true, restart}, {killed(unix.SIGKILL), true, restart}, {exitCode(1), true, restart}}},
		{"on-failure restarts unexpected codes and signals", config.RestartOnFailure, 3, []step{
			{exitCode(1), true, restart}, {killed(unix.SIGKILL), true, restart}, {exitCode(2), true, done}}},
		{"never stays down", config.RestartNever, 3, []step{{exitCode(1), true, done}}},
		{"failed starts back off, doubling to the cap, then fatal", config.RestartAlways, 4, []step{
			{exitCode(1), false, backoff(100)}, {exitCode(1), false, backoff(200)}, {nil, false, backoff(400)},
			{exitCode(0), false, backoff(500)}, {killed(unix.SIGTERM), false, fatal}}},
		{"a started run clears the failures", config.RestartAlways, 2, []step{
			{exitCode(1), false, backoff(100)}, {exitCode(1), false, backoff(200)},
			{exitCode(1), true, restart}, {exitCode(1), false, backoff(100)}}},
		{"zero retries: the first failed start is fatal", config.RestartAlways, 0, []step{{nil, false, fatal}}},
		{"one-shot: an expected quick exit is done", config.RestartOnFailure, 3, []step{{exitCode(2), false, done}}},
		{"never still retries a failed start", config.RestartNever, 1, []step{
			{exitCode(1), false, backoff(100)}, {exitCode(1), false, fatal}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(&config.Service{
				Restart: tt.restart, ExitCodes: []int{0, 2}, StartRetries: tt.retries,
				Backoff: config.Duration(100 * time.Millisecond), BackoffMax: config.Duration(500 * time.Millisecond),
			})
			for i, s := range tt.steps {
				var got Decision
				if s.exit == nil {
					got = tr.Failed()
				} else {
					got = tr.Exited(*s.exit, s.started)
				}
				if got != s.want {
					t.Fatalf("step %d: got %v %s, want %v %s", i, got.Action, got.Delay, s.want.Action, s.want.Delay)
				}
			}
		})
	}
}

func TestTrackerReset(t *testing.T) {
	tr := NewTracker(&config.Service{Restart: config.RestartAlways, StartRetries: 1, Backoff: config.Duration(time.Second), BackoffMax: config.Duration(time.Second)})
	tr.Failed()
	tr.Reset()
	if d := tr.Failed(); d.Action != ActBackoff || tr.Failures() != 1 {
		t.Errorf("after Reset: %v with %d failures, want a backoff after 1", d.Action, tr.Failures())
	}
}

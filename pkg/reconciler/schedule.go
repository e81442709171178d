package reconciler

import (
	"context"
	"sync"
	"time"
)

// When instance work runs. Three rules keep the sites that served serving:
//
//   - Lanes. A task takes a slot of its lane, Parallelism slots in each. A repair (work on an
//     instance back to the definition it served with) and a removal take the repair lane;
//     first convergences (a new instance, a changed declaration) and jobs the other. A first
//     convergence may wait minutes on a database's first start; a repair never waits for one.
//     Repairs also go first: a first convergence (or job) waits for the repairs running or
//     started before it to end, repairsFirst at most, so that on a busy machine the sites
//     that served get the CPU before new databases start.
//   - The engine's return. When the event stream reconnects after it broke, dockerd may have
//     restarted: every container died with it, without an event. Every convergence and
//     removal in flight (planned on the containers of before) is cancelled and planned again
//     from a fresh listing, and no site counts as serving until it is asked again. Jobs go on:
//     passes never cancel them.
//   - Retries. A failed instance is retried when its backoff ends (a timer asks for the pass,
//     not the next trigger that happens to come); a failure on an address another container
//     still held is retried within a second, a few times.

// lane is a pool of task slots.
type lane int

const (
	laneFirst  lane = iota // first convergences of a definition, and jobs
	laneRepair             // repairs of what served, and removals
	laneCount
)

func (l lane) String() string { return [...]string{"first", "repair"}[l] }

// laneOf is the lane of the convergence of a definition (key) of an instance that last
// served with servedKey ("" when it never served since wpinit started).
func laneOf(key, servedKey string) lane {
	if servedKey != "" && key == servedKey {
		return laneRepair
	}
	return laneFirst
}

// quickRetries is how many failures on an address still held are retried after a second.
const quickRetries = 5

// retryDelay is how long an instance that failed failures times in a row waits before its
// next convergence: 5 s doubling to 5 min; 1 s for the first quickRetries failures when the
// last one was an address still held (by a container being removed: free in a moment).
func retryDelay(failures int, inUse bool) time.Duration {
	if failures <= 0 {
		return 0
	}
	if inUse && failures <= quickRetries {
		return time.Second
	}
	return min(5*time.Second<<min(failures-1, 6), 5*time.Minute)
}

// retryDue reports whether a failing instance may converge again: its backoff is over, or
// its definition changed since it failed.
func (r *Reconciler) retryDue(name, key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.inst[name]
	if st.failures == 0 || st.failKey != key {
		return true
	}
	return time.Since(st.errAt) >= retryDelay(st.failures, st.inUse)
}

// armRetry sets the retry timer to the earliest retry still to come, on the loop goroutine
// (after each pass and each task's end). A retry already due needs no timer: the pass that
// just ran, or the task that runs, took it.
func (r *Reconciler) armRetry() {
	if r.retry == nil {
		return
	}
	now := time.Now()
	var next time.Time
	r.mu.Lock()
	for _, st := range r.inst {
		if st.failures == 0 {
			continue
		}
		if due := st.errAt.Add(retryDelay(st.failures, st.inUse)); due.After(now) && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	r.mu.Unlock()
	if next.IsZero() || next.Equal(r.retryAt) {
		return
	}
	r.retry.Stop()
	r.retryAt = next
	r.retry.Reset(time.Until(next))
}

// engineReturned applies the engine's return (the second rule above), on the loop goroutine.
func (r *Reconciler) engineReturned() {
	cancelled := 0
	for _, t := range r.tasks {
		if t.job == nil {
			t.stop()
			cancelled++
		}
	}
	r.mu.Lock()
	for _, st := range r.inst {
		st.ready, st.answered = false, false
	}
	r.mu.Unlock()
	r.log.Info("docker engine back: planning again", "cancelled_tasks", cancelled)
	r.Trigger("docker events reconnected")
}

// repairsFirst bounds how long a first convergence waits for repairs: a repair is the start
// of containers that exist, seconds; one stuck longer must not hold new instances up.
const repairsFirst = 30 * time.Second

// repairGate counts the repairs in progress; first convergences wait for it to be idle. The
// loop adds a repair when it starts its task, the task's goroutine marks it done.
type repairGate struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func newRepairGate() *repairGate {
	g := &repairGate{idle: make(chan struct{})}
	close(g.idle)
	return g
}

func (g *repairGate) add() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
}

func (g *repairGate) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 {
		close(g.idle)
	}
}

// wait returns once no repair is in progress, after max, or when ctx ends.
func (g *repairGate) wait(ctx context.Context, max time.Duration) {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}

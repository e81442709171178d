// Package supervisor runs wpinit's services: one Service per configured process, and a
// Supervisor that starts them in dependency order, stops them in reverse, reloads them and
// reports their status.
//
// Invariants: a Service is an actor. One goroutine (Service.Run) owns its process and state;
// everything else sends it commands and reads published snapshots. A service is spawned only
// when every dependency is ready, in its own process group, through the reaper (never
// exec.Cmd.Wait). Stopping sends the stop signal to the leader and, after stop_timeout,
// SIGKILL to the whole group. Once Run has begun to stop, nothing starts: Apply, Start and
// Restart return ErrStopping, and a service that would spawn (a restart, a retry) stays
// stopped. Nothing polls while idle: readiness probes end once ready and timers run only
// while a state needs one.
package supervisor

// Package reconciler makes the Docker engine agree with instances.toml: every declared
// instance runs its database, PHP and web containers on its own network and serves an
// installed WordPress; every instance gone from the file is stopped and archived.
//
// Plan(desired, actual) is pure: it compares the declared containers (with the hash of their
// whole definition) with one listing of the owned containers and networks and returns the
// actions. Run applies plans on triggers (boot, file change, HUP or ctl reload, Docker
// events, a failed instance's retry, periodic resync). Instances converge in parallel,
// bounded, each in its own task: one failing instance never blocks or tears down another,
// and a repair of what served never waits behind a first convergence (schedule.go).
//
// Two values share the work along ownership. Reconciler owns the scheduling and the state:
// the loop goroutine (passes, tasks, the job queue), the triggers and the status (r.mu, read
// by Status from any goroutine). worker does the work on one instance (converge, remove,
// backup, restore, Xdebug, stop) with only its collaborators: the engine calls it needs
// (docker.InstanceEngine), the options it reads, a logger and the site probe. It runs in the
// instance's task and answers through return values, or a callback the task hands it; it
// never takes r.mu. New requires every option and defaults none (pkg/config is the home of
// the defaults; OptionsOf maps them).
//
// Invariants: only objects labelled with this reconciler's owner are changed; a file that
// does not load changes nothing that runs; a pass with nothing to do costs a constant
// number of Docker calls (one container list, one network list), whatever the number of
// instances; data/ and config/ of a removed instance are archived, deleted only by Purge.
package reconciler

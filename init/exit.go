package main

// Exit codes of wpinit. A container's exit code is PID 1's, so these are what `docker ps`
// and `docker wait` show; 128+n is left to the kernel for "killed by signal n".
const (
	exitOK       = 0 // a requested stop (TERM, INT, QUIT, ctl shutdown) completed
	exitFailure  = 1 // a runtime failure: a part could not start or failed; ctl could not do it
	exitUsage    = 2 // bad command line
	exitConfig   = 3 // wpinit.toml is invalid at boot (or `config check` found problems)
	exitCritical = 4 // a critical service went FATAL: the container stops
)

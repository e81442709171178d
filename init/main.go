// Command wpinit is wp-dind's PID 1: it reaps zombies, supervises the services of
// wpinit.toml, forwards signals and answers `wpinit ctl` on a unix socket.
//
// The binary dispatches on its own name: called as "ctl" (a symlink) it is `wpinit ctl`.
// Subcommands: `ctl ...`, `config check FILE`, `version`; anything else runs the daemon.
//
// Invariant: this package only wires parts together. The signal switch, the exit codes and
// the boot order live here; the work is done in pkg/.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// handledSignals are caught from the first instruction of main: a Go PID 1 that has not
// called Notify for TERM dies with exit code 2 instead. PIPE is caught, never ignored, since
// an ignored signal would stay ignored in every child.
var handledSignals = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP, unix.SIGUSR1, unix.SIGCHLD, unix.SIGPIPE}

func main() {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, handledSignals...)
	os.Exit(dispatch(os.Args, sigs))
}

// dispatch picks the mode from argv[0] and the first argument.
func dispatch(args []string, sigs chan os.Signal) int {
	if filepath.Base(args[0]) == "ctl" {
		return cli(sigs, func() int { return ctlMain(args[1:]) })
	}
	if len(args) > 1 {
		switch args[1] {
		case "ctl":
			return cli(sigs, func() int { return ctlMain(args[2:]) })
		case "config":
			return cli(sigs, func() int { return configMain(args[2:]) })
		case "version":
			fmt.Println("wpinit", version())
			return exitOK
		case "help", "-h", "--help":
			fmt.Print(usage)
			return exitOK
		}
	}
	return daemonMain(args[1:], sigs)
}

// cli gives a command-line tool the default signal behaviour back (Ctrl-C ends it).
func cli(sigs chan os.Signal, fn func() int) int {
	signal.Stop(sigs)
	signal.Reset(handledSignals...)
	return fn()
}

const usage = `usage:
  wpinit [--config FILE] [--socket PATH]   run as init (PID 1) and supervise the services
  wpinit ctl [--socket PATH] COMMAND ...   control a running wpinit (see wpinit ctl help)
  wpinit config check FILE                 validate a wpinit.toml without running anything
  wpinit version                           print the version
`

func configMain(args []string) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprint(os.Stderr, "usage: wpinit config check FILE\n")
		return exitUsage
	}
	if err := checkConfig(os.Stdout, os.Stderr, args[1]); err != nil {
		return exitConfig
	}
	return exitOK
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// Command beside runs tests beside a container named wpinit, the way a user's `make run`
// leaves one up, and checks afterwards that the tests left it alone (issue 9's hermetic
// tests: `make test` passes beside a running wp-dind).
//
//	beside [-state FILE] up          start the blocker, or record the wpinit that is up
//	beside [-state FILE] check       the recorded container is untouched
//	beside [-state FILE] down        remove the blocker, when this state's up created it
//	beside [-state FILE] run CMD...  up, CMD, check, down (down whatever happened)
//
// When no container named wpinit exists, up starts the blocker: a container of a local base
// image (wp-base:bookworm), named wpinit and labelled org.wp-dind.blocker, that publishes
// what make run's container publishes (127.0.0.1:8000-8079, 8081-8099, 8080, 1080, 8500, 80, 443) and
// answers HTTP on each of them. When one exists (make run's, or another run's blocker), up
// creates nothing: it records the container's ID, start time and published ports and, for
// make run's, through `docker exec wpinit ctl status --json`, its instances' container IDs
// and what each site answers. check requires the same of each afterwards, and every
// published port still held on the host.
//
// Invariant: beside removes only the blocker it created itself (its ID in the state file and
// its label); it never stops, changes or removes anything else.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

const usage = `usage: beside [-state FILE] up|check|down
       beside [-state FILE] run CMD [ARG...]
`

func main() {
	fs := flag.NewFlagSet("beside", flag.ContinueOnError)
	statePath := fs.String("state", "bin/beside.json", "where up records what check compares")
	fs.StringVar(&name, "name", envOr("WP_DIND_NAME", name), "the container make run starts (env WP_DIND_NAME, as scripts/run.sh)")
	image := fs.String("image", envOr("WP_DIND_BLOCKER_IMAGE", "wp-base:bookworm"), "local image the blocker runs (perl, as in Debian's minbase)")
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	cmd, args := fs.Arg(0), fs.Args()[1:]
	var err error
	switch {
	case cmd == "up" && len(args) == 0:
		_, err = up(*statePath, *image)
	case cmd == "check" && len(args) == 0:
		err = checkState(*statePath)
	case cmd == "down" && len(args) == 0:
		err = downState(*statePath)
	case cmd == "run" && len(args) > 0:
		err = run(*statePath, *image, args)
	default:
		fs.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "beside:", err)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		os.Exit(1)
	}
}

// run is up, the command, check and down. The command's failure comes first in the result;
// check still runs after it, so that a test that broke the container is named too.
func run(statePath, image string, command []string) error {
	st, err := up(statePath, image)
	if err != nil {
		return err
	}
	defer func() {
		if err := down(st); err != nil {
			logf("%v", err)
		}
	}()
	logf("running beside %s: %s", st.describe(), strings.Join(command, " "))
	c := exec.Command(command[0], command[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmdErr := c.Run()
	checkErr := check(st)
	if cmdErr != nil {
		if checkErr != nil {
			logf("%v", checkErr)
		}
		return fmt.Errorf("%s: %w", strings.Join(command, " "), cmdErr)
	}
	return checkErr
}

func checkState(path string) error {
	st, err := readState(path)
	if err != nil {
		return err
	}
	return check(st)
}

func downState(path string) error {
	st, err := readState(path)
	if err != nil {
		return err
	}
	return down(st)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "beside: "+format+"\n", args...)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

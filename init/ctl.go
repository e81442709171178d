package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"golang.org/x/sys/unix"
)

const ctlUsage = `usage: wpinit ctl [--socket PATH] COMMAND
  status [--json]             every service: state, pid, ready, uptime, restarts, last exit;
                              then images and instances
  status --check              exit 0 when every service is up (or deliberately down), else 1
  status NAME [--show-secrets] [--json]
                              one instance in full (with the IDE's path mappings); credentials
                              only with --show-secrets; for a [[matrix]]'s name, its instances
  wait [--timeout D]          progress until every service is up and every site serves
                              (default 10m); exit 1 when a site fails or time runs out
  sites                       each site's URL, versions, admin page and admin user
  xdebug NAME on|off          switch Xdebug through php.ini and a PHP-FPM reload
  backup NAME                 archive an instance (database dump and files) to ROOT/backups
  restore NAME FILE           bring an instance back to an archive: FILE without a / is a name in
                              ROOT/backups, with one a path (relative to the current folder)
  backups [NAME] [--json]     the archives in ROOT/backups (NAME's only with NAME), oldest first
` + ctlDataUsage + `  restart-instance NAME       stop an instance's containers and start them again, in order
  purge NAME                  delete the archived folders (data included) of an instance removed
                              from instances.toml
  purge --archived [--older-than D]
                              delete every removed instance's archived folders (those archived
                              more than D ago, like 720h, with --older-than) and say what it freed
  start|stop|restart NAME     control one service (stop waits for the exit)
  signal NAME SIG             send SIG (HUP, USR1, ...) to the service's main process
  logs NAME [-f] [-n N]       a service: the last N lines kept (all by default); -f follows
  logs NAME [db|php|web] [-f] [-n N] [--file FILE]
                              an instance: its containers' output, the three interleaved with
                              their role when none is given, then the files of its log folders
                              (logs/VERSION/); --file error.log reads one of those instead
  shell NAME [php|db|web] [--user USER] [-- COMMAND...]
                              a shell (or COMMAND) in an instance's container, php by default, as
                              www-data there; db opens the database client, logged in. Its exit
                              code is ctl's: docker exec -it wpinit ctl shell blog
  reload                      reread wpinit.toml: start added, stop removed, restart changed
  shutdown                    stop every service and wpinit (exit code 0)
The socket is --socket, else $WPINIT_SOCKET, else ` + config.DefaultSocket + `.
`

// errUsage makes ctlMain answer exit code 2 after printing the usage.
var errUsage = errors.New("usage")

// ctlMain runs one ctl command and returns the exit code.
func ctlMain(args []string) int {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	socket := fs.String("socket", envOr("WPINIT_SOCKET", config.DefaultSocket), "control socket")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(os.Stderr, ctlUsage)
		return exitUsage
	}
	ctx, cancel := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer cancel()
	err := runCtl(ctx, ctl.NewClient(*socket), fs.Args(), os.Stdout)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprint(os.Stderr, ctlUsage)
		return exitUsage
	default:
		fmt.Fprintf(os.Stderr, "wpinit ctl: %s\n", oneLine(err))
		return exitFailure
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// runCtl dispatches one command.
func runCtl(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "status":
		return ctlStatus(ctx, c, rest, out)
	case "start", "stop", "restart":
		if len(rest) != 1 {
			return errUsage
		}
		return c.ServiceAction(ctx, rest[0], cmd)
	case "signal":
		if len(rest) != 2 {
			return errUsage
		}
		var sig config.Signal
		if err := sig.UnmarshalText([]byte(rest[1])); err != nil {
			return err
		}
		return c.Signal(ctx, rest[0], sig.String())
	case "logs":
		return ctlLogs(ctx, c, rest, out)
	case "wait":
		return ctlWait(ctx, c, rest, out)
	case "sites":
		return ctlSites(ctx, c, rest, out)
	case "purge":
		return ctlPurge(ctx, c, rest, out)
	case "xdebug":
		return ctlXdebug(ctx, c, rest, out)
	case "backup":
		return ctlBackup(ctx, c, rest, out)
	case "restore":
		return ctlRestore(ctx, c, rest, out)
	case "backups":
		return ctlBackups(ctx, c, rest, out)
	case "snapshot":
		return ctlSnapshot(ctx, c, rest, out)
	case "db":
		return ctlDB(ctx, c, rest, out)
	case "restart-instance":
		return ctlRestartInstance(ctx, c, rest, out)
	case "shell":
		return ctlShell(ctx, c, rest)
	case "reload":
		return c.Reload(ctx)
	case "shutdown":
		return c.Shutdown(ctx)
	case "help":
		fmt.Fprint(out, ctlUsage)
		return nil
	}
	return errUsage
}

func ctlStatus(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return ctlInstance(ctx, c, args[0], args[1:], out)
	}
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	check := fs.Bool("check", false, "")
	if fs.Parse(args) != nil || fs.NArg() > 0 || *check && *asJSON {
		return errUsage
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if *check {
		return checkHealth(st, out)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return writeStatusTable(out, st, time.Now())
}

// errNotHealthy is the verdict of `status --check` when a service is not up.
var errNotHealthy = errors.New("not healthy")

// checkHealth is `status --check`: one line, and an error (exit 1) unless every service is
// up or deliberately down (ctl.Status.Unhealthy).
func checkHealth(st *ctl.Status, out io.Writer) error {
	if bad := st.Unhealthy(); len(bad) > 0 {
		return fmt.Errorf("%w: %s", errNotHealthy, strings.Join(bad, ", "))
	}
	_, err := fmt.Fprintf(out, "healthy: %d services\n", len(st.Services))
	return err
}

func writeStatusTable(out io.Writer, st *ctl.Status, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tPID\tREADY\tUPTIME\tRESTARTS\tLAST EXIT\t")
	for _, s := range st.Services {
		pid, uptime, ready := "-", "-", "no"
		if s.Pid != 0 {
			pid, uptime = strconv.Itoa(s.Pid), formatUptime(now.Sub(s.Started))
		}
		if s.Ready {
			ready = "yes"
		}
		last := s.LastExit
		if last == "" {
			last = "-"
		}
		if s.Error != "" {
			last += " (" + s.Error + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", s.Name, s.State, pid, ready, uptime, s.Restarts, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.Wpinit != nil && st.Wpinit.ConfigError != "" {
		fmt.Fprintf(out, "\nconfig not applied (the running one stays):\n  %s\n", strings.ReplaceAll(st.Wpinit.ConfigError, "\n", "\n  "))
	}
	return writePipelineStatus(out, st)
}

// formatUptime shows the two largest units: 3d4h, 2h5m, 4m12s, 12s.
func formatUptime(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s >= 86400:
		return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
	case s >= 3600:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// unknownUserHint follows an unknown user: conf/wpinit.toml, checked on the host, names
// maildev, a user of the wp-dind image only.
const unknownUserHint = `note: users are looked up on the machine that runs the check. A wpinit.toml meant for
the wp-dind image (the repository's conf/wpinit.toml is one) names users only the image has:
"make config-check" checks conf/wpinit.toml inside the image.
`

// checkConfig validates a wpinit.toml: "FILE: ok" on out, or every problem on errOut.
func checkConfig(out, errOut io.Writer, path string) error {
	_, err := config.LoadWpinit(path)
	if err != nil {
		fes := config.FieldErrors(err)
		if len(fes) == 0 {
			fmt.Fprintln(errOut, err)
		}
		for _, fe := range fes {
			fmt.Fprintln(errOut, fe.Detail())
		}
		if errors.Is(err, config.ErrUnknownUser) {
			fmt.Fprint(errOut, unknownUserHint)
		}
		return err
	}
	fmt.Fprintf(out, "%s: ok\n", path)
	return nil
}

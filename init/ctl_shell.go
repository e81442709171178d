package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"golang.org/x/sys/unix"
)

// `ctl shell NAME [php|db|web] [--user USER] [-- COMMAND...]` is the inner engine's
// `docker exec` into an instance's container, run in place of ctl (exec), so that a terminal
// is the container's and the command's exit code is ctl's: `docker exec -it wpinit ctl shell
// blog` works like `ddev ssh`. It runs where wpinit runs: the wp-dind container, whose
// docker CLI reaches the inner engine.

// dbClient opens the database client logged in as the site's user, on its database. The
// credentials come from the container's own environment into an option file on a pipe, so
// they are in no process's arguments.
const dbClient = `u=${MARIADB_USER:-${MYSQL_USER:-}}; p=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}; d=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
c=$(command -v mariadb || command -v mysql) || { echo "no database client in this container" >&2; exit 127; }
exec "$c" --defaults-extra-file=<(printf '[client]\nuser=%s\npassword="%s"\n' "$u" "$p") "$d" "$@"`

// loginShell is bash when the image has it, else sh.
const loginShell = `if command -v bash >/dev/null 2>&1; then exec bash "$@"; fi; exec sh "$@"`

type shellArgs struct {
	name, role, user string
	cmd              []string
}

func parseShellArgs(args []string) (shellArgs, error) {
	a := shellArgs{role: "php"}
	if i := slices.Index(args, "--"); i >= 0 {
		args, a.cmd = args[:i], args[i+1:]
	}
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.user, "user", "", "")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return a, err
	}
	switch {
	case len(words) == 2 && slices.Contains(ctl.InstanceRoles, words[1]):
		a.role = words[1]
	case len(words) != 1:
		return a, errUsage
	}
	a.name = words[0]
	if a.user == "" && a.role == "php" {
		a.user = "www-data" // the files the site writes are www-data's
	}
	return a, nil
}

// dockerExecArgs is the docker command line of a shell into container.
func dockerExecArgs(host, container string, a shellArgs, tty bool) []string {
	argv := []string{"docker"}
	if host != "" {
		argv = append(argv, "-H", host)
	}
	argv = append(argv, "exec", "-i")
	if tty {
		argv = append(argv, "-t")
	}
	if a.user != "" {
		argv = append(argv, "-u", a.user)
	}
	if a.role != "db" {
		argv = append(argv, "-w", "/var/www/html")
	}
	argv = append(argv, container)
	switch {
	case a.role == "db":
		return append(append(argv, "bash", "-c", dbClient, "wp-dind-db"), a.cmd...)
	case len(a.cmd) > 0:
		return append(argv, a.cmd...)
	}
	return append(argv, "sh", "-c", loginShell, "wp-dind-shell")
}

func ctlShell(ctx context.Context, c *ctl.Client, args []string) error {
	a, err := parseShellArgs(args)
	if err != nil {
		return err
	}
	d, err := c.Instance(ctx, a.name, false)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(d.Containers, func(c ctl.ContainerStatus) bool { return c.Role == a.role })
	if i < 0 || d.Containers[i].State != "running" {
		return fmt.Errorf("shell in %s: its %s container is not running", a.name, a.role)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	host := ""
	if st.Docker != nil {
		host = st.Docker.Host
	}
	bin, err := exec.LookPath("docker")
	if err != nil {
		return errors.New("shell: no docker CLI here: run it in the wp-dind container (docker exec -it wpinit ctl shell NAME)")
	}
	tty := isTerminal(os.Stdin) && isTerminal(os.Stdout)
	return unix.Exec(bin, dockerExecArgs(host, d.Containers[i].Name, a, tty), os.Environ())
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

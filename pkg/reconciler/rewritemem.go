package reconciler

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// A clone's URL rewrite is one UPDATE over every row that links to its source: on a large
// copy it thrashes a development site's 8 MiB buffer pool and 16 MiB redo log (the lean
// defaults, instance/templates.go). On 1 GiB of posts and their meta (MariaDB 11.8, the two
// tables' UPDATEs side by side), it took 19 s with those and 12 s with 256 MiB of each. So a
// clone of a database over rewriteMemoryFrom gets rewriteMemory of both while its URL is
// rewritten, and its own values back after: MariaDB resizes its buffer pool while it serves,
// and its redo log since 10.9. MySQL's clones keep their values.
const (
	rewriteMemory     = 256 << 20
	rewriteMemoryFrom = 64 << 20
)

// rewriteSettings are the server variables that db resizes while it serves, and that a
// rewrite raises to rewriteMemory when they are below it (growForRewrite).
func rewriteSettings(db config.Component) []string {
	if db.Flavor != config.FlavorMariaDB {
		return nil
	}
	vars := []string{"innodb_buffer_pool_size"}
	if major, minor, ok := versionNumbers(db.Version); ok && (major > 10 || major == 10 && minor >= 9) {
		vars = append(vars, "innodb_log_file_size")
	}
	return vars
}

// versionNumbers reads "X.Y" (or "X.Y.Z").
func versionNumbers(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(parts[1])
	return a, b, err1 == nil && err2 == nil
}

// growForRewrite gives the database in container id rewriteMemory of each of vars that is
// below it, logged in as root with own's password, and returns the SQL that sets their own
// values back ("" when it changed none).
func (w *worker) growForRewrite(ctx context.Context, id string, own instance.Secrets, vars []string) (string, error) {
	if len(vars) == 0 {
		return "", nil
	}
	sel := make([]string, len(vars))
	for i, v := range vars {
		sel[i] = "@@GLOBAL." + v
	}
	out, err := w.rootSQL(ctx, id, own, "SELECT "+strings.Join(sel, ", ")+";\n")
	if err != nil {
		return "", err
	}
	fields := strings.Fields(lastLine(out))
	if len(fields) != len(vars) {
		return "", fmt.Errorf("read %s: %q", strings.Join(vars, ", "), lastLine(out))
	}
	var grow, back strings.Builder
	for i, v := range vars {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return "", fmt.Errorf("read %s: %q", v, fields[i])
		}
		if n < rewriteMemory {
			fmt.Fprintf(&grow, "SET GLOBAL %s = %d;\n", v, rewriteMemory)
			fmt.Fprintf(&back, "SET GLOBAL %s = %d;\n", v, n)
		}
	}
	if grow.Len() == 0 {
		return "", nil
	}
	if _, err := w.rootSQL(ctx, id, own, grow.String()); err != nil {
		return "", err
	}
	return back.String(), nil
}

// rootSQL runs sql in the database container as root (own's password) and returns what the
// client printed.
func (w *worker) rootSQL(ctx context.Context, id string, own instance.Secrets, sql string) (string, error) {
	var out strings.Builder
	res, err := w.eng.ExecStream(ctx, id, docker.ExecIO{
		Cmd: []string{"sh", "-c", passwordSQLCmd}, Stdin: strings.NewReader(own.DBRootPassword + "\n" + sql), Stdout: &out,
		MaxOutput: 64 << 10,
	})
	if err != nil {
		return "", fmt.Errorf("run SQL as root: %w", err)
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("run SQL as root: exit %d: %s", res.ExitCode, lastLine(res.Output))
	}
	return out.String(), nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// logsArgs is `logs NAME [ROLE] [-f] [-n N] [--file FILE]`, flags and words in any order.
type logsArgs struct {
	name, role, file string
	follow           bool
	n                int
}

// parseInterspersed parses fs's flags wherever they stand among the words (`logs blog -f
// php`), which flag.Parse alone stops at, and returns the words.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return words, nil
		}
		words, args = append(words, fs.Arg(0)), fs.Args()[1:]
	}
}

func parseLogsArgs(args []string) (logsArgs, error) {
	var a logsArgs
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&a.follow, "f", false, "")
	fs.IntVar(&a.n, "n", -1, "")
	fs.StringVar(&a.file, "file", "", "")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return a, err
	}
	switch len(words) {
	case 2:
		a.role = words[1]
		if !slices.Contains(ctl.InstanceRoles, a.role) {
			return a, fmt.Errorf("%w: unknown role %q (db, php or web)", errUsage, a.role)
		}
		fallthrough
	case 1:
		a.name = words[0]
	default:
		return a, errUsage
	}
	return a, nil
}

// ctlLogs is `logs NAME ...`: a service's output kept by wpinit, or an instance's logs (its
// containers' output, or a file of its log folders). Service and instance names never clash
// (instances.toml refuses an instance named like a service).
func ctlLogs(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	a, err := parseLogsArgs(args)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(st.Services, func(s ctl.ServiceStatus) bool { return s.Name == a.name }) {
		if a.role != "" || a.file != "" {
			return fmt.Errorf("%w: %s is a service: no role or --file", errUsage, a.name)
		}
		return c.Logs(ctx, a.name, a.n, a.follow, func(l ctl.LogLine) error {
			_, err := fmt.Fprintf(out, "%s %s %s\n", l.Time.Local().Format("2006-01-02T15:04:05.000"), l.Stream, l.Text)
			return err
		})
	}
	q := ctl.LogQuery{Role: a.role, Lines: a.n, Follow: a.follow, File: a.file}
	err = c.InstanceLogs(ctx, a.name, q, func(l ctl.InstanceLogLine) error {
		_, err := fmt.Fprintf(out, "%-3s | %s\n", l.Role, l.Text)
		return err
	})
	if err != nil || a.follow || a.file != "" {
		return err
	}
	return listLogFiles(ctx, c, a.name, os.Stderr)
}

// listLogFiles tells, after an instance's container logs, which files its log folders hold.
func listLogFiles(ctx context.Context, c *ctl.Client, name string, w io.Writer) error {
	list, err := c.LogFiles(ctx, name)
	if err != nil || len(list.Files) == 0 {
		return err
	}
	fmt.Fprintf(w, "\nlog files of %s (ctl logs %s [ROLE] --file NAME [-f]):\n", name, name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range list.Files {
		fmt.Fprintf(tw, "  %s\t%s\t%d bytes\t%s\n", f.Role, f.Path, f.Size, f.Modified.Local().Format("2006-01-02 15:04:05"))
	}
	return tw.Flush()
}

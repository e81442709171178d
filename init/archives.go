package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
)

// The archives of removed instances: the route's adapter over the reconciler, and
// `ctl purge --archived [--older-than D]`.

// archiveAPI serves ctl.Archives from the reconciler.
type archiveAPI struct{ r *reconciler.Reconciler }

func (a archiveAPI) PurgeArchived(olderThan time.Duration) (*ctl.PurgeArchivedResult, error) {
	sum, err := a.r.PurgeArchived(olderThan)
	return &ctl.PurgeArchivedResult{Purged: archived(sum.Purged), Bytes: sum.Bytes, Kept: sum.Kept,
		KeptDeclared: sum.KeptDeclared}, markInstanceErr(err)
}

// archives serves the archive route once the reconciler runs.
func (p *instances) archives() (ctl.Archives, error) {
	r, err := p.reconciler()
	if err != nil {
		return nil, err
	}
	return archiveAPI{r}, nil
}

// ctlPurgeArchived is `purge --archived [--older-than D]`.
func ctlPurgeArchived(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("archived", false, "")
	olderThan := fs.Duration("older-than", 0, "")
	if fs.Parse(args) != nil || fs.NArg() > 0 || !*all || *olderThan < 0 {
		return errUsage
	}
	res, err := c.PurgeArchived(ctx, *olderThan)
	if err != nil {
		return err
	}
	writePurgeArchived(out, res)
	return nil
}

func writePurgeArchived(out io.Writer, res *ctl.PurgeArchivedResult) {
	for _, a := range res.Purged {
		fmt.Fprintf(out, "deleted %s (%s, archived %s)\n", a.Path, mib(a.Bytes), a.When.Format(time.RFC3339))
	}
	fmt.Fprintf(out, "purged %d archived folders, freed %s; kept %d", len(res.Purged), mib(res.Bytes), res.Kept)
	if res.KeptDeclared > 0 {
		fmt.Fprintf(out, " (%d set aside by restores of instances still declared)", res.KeptDeclared)
	}
	fmt.Fprintln(out)
}

// writeArchives is the archives' line of `ctl status`.
func writeArchives(out io.Writer, u ctl.ArchiveUsage) {
	if u.Count == 0 {
		return
	}
	lower := ""
	if u.Partial {
		lower = " at least"
	}
	fmt.Fprintf(out, "\narchives: %d instance folders,%s %s (ctl purge --archived deletes those of removed instances)\n", u.Count, lower, mib(u.Bytes))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

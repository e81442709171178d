package main

import (
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// The data commands: snapshots, db export and import, backup --all and restore --all.

const ctlDataUsage = `  snapshot NAME [LABEL]       a physical snapshot of an instance while it serves (LABEL: its time)
  snapshot list NAME          its snapshots, oldest first
  snapshot restore NAME LABEL bring it back to a snapshot (same database server only)
  snapshot rm NAME LABEL      delete a snapshot
  db export NAME [FILE|-]     a dump of its database, streamed (gzip when FILE ends in .gz; - or
                              nothing: standard output)
  db import NAME FILE|- [--replace-url OLD]
                              stream a dump into it, plain or gzip (- : standard input); OLD is
                              rewritten to the site's URL across the database afterwards
  backup --all                archive every instance, one after another, with a summary
  restore --all               restore every instance from its newest archive in ROOT/backups
`

// ctlSnapshot is `snapshot ...`.
func ctlSnapshot(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	switch {
	case len(args) == 2 && args[0] == "list":
		return ctlSnapshotList(ctx, c, args[1], out)
	case len(args) == 3 && args[0] == "restore":
		res, err := c.SnapshotRestore(ctx, args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s restored from snapshot %s (%s) in %s\n", res.Instance, res.Snapshot.Label,
			res.Snapshot.Created.Local().Format(time.DateTime), res.Duration.Round(time.Millisecond))
		return nil
	case len(args) == 3 && args[0] == "rm":
		if err := c.SnapshotRemove(ctx, args[1], args[2]); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: snapshot %s deleted\n", args[1], args[2])
		return nil
	case len(args) == 1 || len(args) == 2:
		label := ""
		if len(args) == 2 {
			label = args[1]
		}
		res, err := c.Snapshot(ctx, args[0], label)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: snapshot %s (%s, %s) in %s\n", res.Instance, res.Snapshot.Label, res.Snapshot.Method,
			units.BytesSize(float64(res.Snapshot.Bytes)), res.Duration.Round(time.Millisecond))
		return nil
	}
	return errUsage
}

func ctlSnapshotList(ctx context.Context, c *ctl.Client, name string, out io.Writer) error {
	res, err := c.Snapshots(ctx, name)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tCREATED\tDATABASE\tMETHOD\tSIZE\t")
	for _, s := range res.Snapshots {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t\n", s.Label, s.Created.Local().Format(time.DateTime), s.DB, s.DBVersion,
			s.Method, units.BytesSize(float64(s.DiskBytes)))
	}
	return tw.Flush()
}

// ctlDB is `db export|import ...`.
func ctlDB(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) < 2 {
		return errUsage
	}
	switch args[0] {
	case "export":
		return ctlDBExport(ctx, c, args[1:], out)
	case "import":
		return ctlDBImport(ctx, c, args[1:], out)
	}
	return errUsage
}

// ctlDBExport writes the dump to FILE (gzip for .gz, through a temporary file renamed at
// the end: a failed export leaves no file) or to standard output.
func ctlDBExport(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) > 2 {
		return errUsage
	}
	if len(args) == 1 || args[1] == "-" {
		_, err := c.DBExport(ctx, args[0], out)
		return err
	}
	file := args[1]
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return fmt.Errorf("export to %s: %w", file, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(file, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	start := time.Now()
	n, err := c.DBExport(ctx, args[0], w)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", file, err)
	}
	fmt.Fprintf(out, "%s: %s of SQL exported to %s in %s\n", args[0], units.BytesSize(float64(n)), file, time.Since(start).Round(time.Millisecond))
	return nil
}

func ctlDBImport(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	name, file := args[0], ""
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "--") {
		file, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("db import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	replace := fs.String("replace-url", "", "")
	if fs.Parse(rest) != nil || fs.NArg() > 0 || file == "" {
		return errUsage
	}
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("import %s: %w", file, err)
		}
		defer f.Close()
		in = f
	}
	res, err := c.DBImport(ctx, name, in, *replace)
	if err != nil {
		return err
	}
	kind := "plain"
	if res.Gzip {
		kind = "gzip"
	}
	fmt.Fprintf(out, "%s: %s of SQL imported (%s) in %s\n", res.Instance, units.BytesSize(float64(res.Bytes)), kind, res.Duration.Round(time.Millisecond))
	if r := res.Replaced; r != nil {
		fmt.Fprintf(out, "%s: %s rewritten to %s in %d rows of %d tables (%d serialized or JSON values)\n", res.Instance, res.ReplaceURL, res.URL, r.Rows, r.Tables, r.Values)
		for _, s := range r.Skipped {
			fmt.Fprintf(out, "  skipped %s\n", s)
		}
	}
	return nil
}

// errSomeFailed makes an --all command exit 1 after its summary, when an instance failed.
var errSomeFailed = errors.New("some instances failed")

// ctlAll is `backup --all` or `restore --all`: a line per instance, then the count.
func ctlAll(ctx context.Context, what string, fn func(context.Context) (*ctl.AllResult, error), out io.Writer) error {
	res, err := fn(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tRESULT\tFILE\tSIZE\tTIME\t")
	for _, it := range res.Items {
		result := "ok"
		if it.Error != "" {
			result = "failed: " + it.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", it.Instance, result, orDefault(it.File, "-"), units.BytesSize(float64(it.Bytes)), it.Duration.Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d instances, %d failed, in %s\n", what, len(res.Items), res.Failed, res.Duration.Round(time.Millisecond))
	if res.Failed > 0 {
		return fmt.Errorf("%s: %w (%d of %d)", what, errSomeFailed, res.Failed, len(res.Items))
	}
	return nil
}

// writeDataDetail adds the data rows to `status NAME`.
func writeDataDetail(row func(k, v string), d *ctl.InstanceDetail) {
	if !d.LastBackup.IsZero() {
		row("last backup", d.LastBackup.Local().Format(time.DateTime))
	}
	if !d.NextBackup.IsZero() {
		row("next backup", d.NextBackup.Local().Format(time.DateTime))
	}
	data := d.Data
	if data == nil {
		return
	}
	row("snapshots", fmt.Sprintf("%d (%s)", data.Snapshots, units.BytesSize(float64(data.SnapshotBytes))))
	if data.From != "" {
		row("created from", orDefault(data.Seeded, data.From+" (not filled yet)"))
	}
	if data.FromNote != "" {
		row("note", data.FromNote)
	}
}

// backupTimes is the BACKUP column of `status`: last and next.
func backupTimes(i ctl.InstanceStatus) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("01-02 15:04:05")
	}
	if i.LastBackup.IsZero() && i.NextBackup.IsZero() {
		return "-"
	}
	return f(i.LastBackup) + " / next " + f(i.NextBackup)
}

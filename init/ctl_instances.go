package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// writePipelineStatus adds the docker, images and instances sections to the status table.
func writePipelineStatus(out io.Writer, st *ctl.Status) error {
	if d := st.Docker; d != nil && !d.Connected {
		fmt.Fprintf(out, "\ndocker: not answering yet at %s", orDefault(d.Host, "the default socket"))
		if d.Error != "" {
			fmt.Fprintf(out, " (%s)", d.Error)
		}
		fmt.Fprintln(out)
	}
	if im := st.Images; im != nil {
		writeImages(out, im)
	}
	if in := st.Instances; in != nil {
		return writeInstances(out, in)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func writeImages(out io.Writer, im *ctl.ImagesStatus) {
	c := im.Counts()
	state := "loading"
	if im.Done {
		state = "done in " + im.Duration.Round(time.Millisecond).String()
	}
	fmt.Fprintf(out, "\nimages (%s): %s, %d loaded, %d skipped, %d failed", im.Dir, state,
		c[ctl.TarballLoaded], c[ctl.TarballSkipped], c[ctl.TarballFailed])
	if busy := c[ctl.TarballChecking] + c[ctl.TarballLoading]; busy > 0 || c[ctl.TarballPending] > 0 {
		fmt.Fprintf(out, ", %d in progress, %d pending", busy, c[ctl.TarballPending])
	}
	fmt.Fprintln(out)
	if im.Error != "" {
		fmt.Fprintf(out, "  %s\n", im.Error)
	}
	for _, t := range im.Tarballs {
		switch {
		case t.State == ctl.TarballFailed:
			fmt.Fprintf(out, "  %s: failed: %s\n", t.Name, t.Error)
		case t.State == ctl.TarballLoading && t.Size > 0:
			fmt.Fprintf(out, "  %s: loading %d%%\n", t.Name, t.Percent())
		}
	}
	if im.Host != nil {
		writeHostImages(out, im.Host)
	}
}

func writeInstances(out io.Writer, in *ctl.InstancesStatus) error {
	fmt.Fprintln(out)
	if err := writeInstanceTable(out, in.Instances); err != nil {
		return err
	}
	switch {
	case len(in.Instances) > 0:
	case in.LastPass.IsZero():
		fmt.Fprintln(out, "(no pass yet: instances converge once the engine answers and the shared images are loaded)")
	default:
		fmt.Fprintf(out, "(no instances declared in %s)\n", in.File)
	}
	writeArchives(out, in.Archives)
	if in.FileError != "" {
		fmt.Fprintf(out, "\n%s not applied (the last good one stays):\n", in.File)
		for _, fe := range in.FileLines {
			fmt.Fprintf(out, "  %s\n", fe.Message)
		}
		if len(in.FileLines) == 0 {
			fmt.Fprintf(out, "  %s\n", in.FileError)
		}
	}
	return nil
}

// writeInstanceTable is a row per instance: those of no matrix first, then each matrix's
// under a row with its name.
func writeInstanceTable(out io.Writer, list []ctl.InstanceStatus) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tID\tSTATE\tURL\tPHP\tDATABASE\tWEB\tHEALTH\tBACKUP\tLAST ERROR\t")
	row := func(indent string, i ctl.InstanceStatus) {
		fmt.Fprintf(tw, "%s%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", indent, i.Name, i.ID, i.State, i.URL, i.PHP, i.DB, i.Web, i.Health, backupTimes(i), orDefault(i.LastError, "-"))
	}
	var matrices []string
	members := map[string][]ctl.InstanceStatus{}
	for _, i := range list {
		if i.Matrix == "" {
			row("", i)
			continue
		}
		if members[i.Matrix] == nil {
			matrices = append(matrices, i.Matrix)
		}
		members[i.Matrix] = append(members[i.Matrix], i)
	}
	for _, m := range matrices {
		fmt.Fprintf(tw, "%s (matrix of %d)\t\t\t\t\t\t\t\t\t\t\n", m, len(members[m]))
		for _, i := range members[m] {
			row("  ", i)
		}
	}
	return tw.Flush()
}

// ctlMatrix is `status NAME` for a matrix's name: its instances' rows; false when NAME names
// no matrix.
func ctlMatrix(ctx context.Context, c *ctl.Client, name string, asJSON bool, out io.Writer) (bool, error) {
	st, err := c.Status(ctx)
	if err != nil || st.Instances == nil {
		return false, err
	}
	var rows []ctl.InstanceStatus
	for _, i := range st.Instances.Instances {
		if i.Matrix == name {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return false, nil
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return true, enc.Encode(rows)
	}
	return true, writeInstanceTable(out, rows)
}

// ctlInstance is `status NAME [--show-secrets] [--json]`.
func ctlInstance(ctx context.Context, c *ctl.Client, name string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	secrets := fs.Bool("show-secrets", false, "")
	if fs.Parse(args) != nil || fs.NArg() > 0 {
		return errUsage
	}
	d, err := c.Instance(ctx, name, *secrets)
	var apiErr *ctl.APIError
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
		if found, merr := ctlMatrix(ctx, c, name, *asJSON, out); found || merr != nil {
			return merr
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return writeInstanceDetail(out, d)
}

func writeInstanceDetail(out io.Writer, d *ctl.InstanceDetail) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("name", d.Name)
	row("state", d.State+" ("+d.Health+")")
	row("url", d.URL)
	row("php / database / web", d.PHP+" / "+d.DB+" / "+d.Web)
	row("network", fmt.Sprintf("%s %s (id %d)", d.Network, d.Subnet, d.ID))
	row("shared network", fmt.Sprint(d.Shared))
	row("xdebug", fmt.Sprint(d.Xdebug))
	row("folder", d.Dir)
	row("admin", d.AdminUser+" <"+d.AdminEmail+">")
	if d.LastError != "" {
		row("last error", d.LastError)
	}
	if len(d.KeptFiles) > 0 {
		row("edited files kept", strings.Join(d.KeptFiles, ", "))
	}
	writeDataDetail(row, d)
	if d.Matrix != "" {
		row("matrix", d.Matrix)
	}
	if d.Multisite != "" {
		row("multisite", d.Multisite)
	}
	for _, c := range d.Containers {
		row("container "+c.Role, fmt.Sprintf("%s %s %s %s %s", c.Name, c.Image, c.IP, c.State, c.Health))
	}
	for _, m := range d.PathMappings {
		row("path mapping (IDE)", m.Host+" => "+m.Container)
	}
	if s := d.Secrets; s != nil {
		row("admin password", s.AdminPassword)
		row("database", fmt.Sprintf("%s, user %s, password %s", s.DBName, s.DBUser, s.DBPassword))
		row("database root password", s.DBRootPassword)
	} else {
		row("credentials", "hidden (--show-secrets shows them)")
	}
	return tw.Flush()
}

// ctlPurge is `purge NAME`: delete a removed instance's archived folders.
func ctlPurge(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		return ctlPurgeArchived(ctx, c, args, out)
	}
	if len(args) != 1 {
		return errUsage
	}
	res, err := c.Purge(ctx, args[0])
	if err != nil {
		return err
	}
	for _, a := range res.Purged {
		fmt.Fprintf(out, "deleted %s\n", a.Path)
	}
	return nil
}

// ctlXdebug is `xdebug NAME on|off`.
func ctlXdebug(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		return errUsage
	}
	res, err := c.Xdebug(ctx, args[0], args[1] == "on")
	if err != nil {
		return err
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(out, "%s: xdebug.mode was already %s\n", res.Instance, res.Mode)
	default:
		fmt.Fprintf(out, "%s: xdebug.mode = %s, PHP-FPM reloaded\n", res.Instance, res.Mode)
	}
	return nil
}

// ctlBackup is `backup NAME`.
func ctlBackup(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) == 1 && args[0] == "--all" {
		return ctlAll(ctx, "backup --all", c.BackupAll, out)
	}
	if len(args) != 1 {
		return errUsage
	}
	res, err := c.Backup(ctx, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s (%d bytes: database dump %d bytes, %d files) in %s\n",
		res.Path, res.Bytes, res.DumpBytes, res.Files, res.Duration.Round(time.Millisecond))
	return nil
}

// ctlRestore is `restore NAME FILE`. FILE without a "/" names an archive in ROOT/backups;
// with one it is a path, which the client makes absolute against this process's working
// folder (ctl.RestoreFile), not wpinit's.
func ctlRestore(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) == 1 && args[0] == "--all" {
		return ctlAll(ctx, "restore --all", c.RestoreAll, out)
	}
	if len(args) != 2 {
		return errUsage
	}
	res, err := c.Restore(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s restored from %s in %s; its previous files are in %s\n",
		res.Instance, res.File, res.Duration.Round(time.Millisecond), res.SetAside)
	return nil
}

// ctlBackups is `backups [NAME] [--json]`.
func ctlBackups(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("backups", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if fs.Parse(args) != nil || fs.NArg() > 0 {
		return errUsage
	}
	res, err := c.Backups(ctx, name)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tWHEN\tBYTES\tFILE\t")
	for _, a := range res.Archives {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t\n", a.Instance, a.When.Local().Format(time.DateTime), a.Bytes, a.Path)
	}
	return tw.Flush()
}

// ctlRestartInstance is `restart-instance NAME`.
func ctlRestartInstance(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errUsage
	}
	res, err := c.RestartInstance(ctx, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: restarted %s in %s\n", res.Instance, strings.Join(res.Containers, ", "), res.Duration.Round(time.Millisecond))
	return nil
}

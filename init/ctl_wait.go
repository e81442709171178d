package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// defaultWaitTimeout is how long `ctl wait` waits without --timeout.
const defaultWaitTimeout = 10 * time.Minute

// ctlWait is `wait [--timeout D]`: progress lines until every site serves.
func ctlWait(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := fs.Duration("timeout", defaultWaitTimeout, "")
	if fs.Parse(args) != nil || fs.NArg() > 0 || *timeout <= 0 {
		return errUsage
	}
	return waitSites(ctx, c, *timeout, time.Second, out)
}

// progressWriter prints a subject's line when its text differs from the last one printed.
type progressWriter struct {
	out  io.Writer
	last map[string]string
}

func (w *progressWriter) show(ps ...ctl.Progress) {
	for _, p := range ps {
		if w.last[p.Subject] != p.Text {
			w.last[p.Subject] = p.Text
			fmt.Fprintln(w.out, p)
		}
	}
}

// waitSites polls the status every interval until the sites serve (nil), one fails (its
// error), or timeout passes (what was still awaited). wpinit not answering yet is waited for
// like the rest: the socket appears a moment after the container starts.
func waitSites(ctx context.Context, c *ctl.Client, timeout, every time.Duration, out io.Writer) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := progressWriter{out: out, last: map[string]string{}}
	var waiting []string
	for {
		st, err := c.Status(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			w.show(ctl.Progress{Subject: "wpinit", Text: "not answering yet: " + err.Error()})
			waiting = []string{"wpinit to answer"}
		default:
			w.show(st.Progress()...)
			if waiting, err = st.Waiting(); err != nil {
				return err
			}
			if len(waiting) == 0 {
				fmt.Fprintf(out, "%s after %s\n", sitesServe(st), time.Since(start).Round(100*time.Millisecond))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("sites not serving within %s, waiting for: %s", timeout, strings.Join(waiting, ", "))
		case <-time.After(every):
		}
	}
}

// sitesServe is the closing line of a wait that succeeded.
func sitesServe(st *ctl.Status) string {
	if st.Instances == nil {
		return "services ready (this wpinit manages no sites)"
	}
	switch n := len(st.Instances.Instances); n {
	case 0:
		return "services ready, no sites declared in " + st.Instances.File
	case 1:
		return "the site serves"
	default:
		return fmt.Sprintf("all %d sites serve", n)
	}
}

// errNoSites answers `ctl sites` from a wpinit that manages no instances.
var errNoSites = errors.New("this wpinit manages no sites: wpinit.toml has no [instances] file")

// ctlSites is `sites`: what a user opens, one line per site.
func ctlSites(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) != 0 {
		return errUsage
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if st.Instances == nil {
		return errNoSites
	}
	if len(st.Instances.Instances) == 0 {
		_, err := fmt.Fprintf(out, "(no sites declared in %s)\n", st.Instances.File)
		return err
	}
	sites := make([]ctl.InstanceDetail, 0, len(st.Instances.Instances))
	for _, i := range st.Instances.Instances {
		d, err := c.Instance(ctx, i.Name, false)
		if err != nil {
			return err
		}
		sites = append(sites, *d)
	}
	return writeSites(out, sites, st.Router)
}

// writeSites is the table of `ctl sites`: each site's URL (its first name through the
// router when there is one), state, versions, admin page and user, and its port URL when the
// first URL is its name.
func writeSites(out io.Writer, sites []ctl.InstanceDetail, router *ctl.RouterStatus) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tURL\tSTATE\tPHP\tDATABASE\tWEB\tADMIN\tUSER\tPORT URL")
	for _, s := range sites {
		url, portURL := strings.TrimSuffix(s.URL, "/")+"/", "-"
		if len(s.Names) > 0 && router.URL(s.Names[0]) != "" {
			if s.Port != 0 {
				portURL = url
			}
			url = router.URL(s.Names[0])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, url, s.State, s.PHP, s.DB, s.Web, url+"wp-admin/", s.AdminUser, portURL)
	}
	return tw.Flush()
}

package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// ctlCA is `ctl ca`: the local CA's certificate on stdout, to trust it
// (docs/operations.md, "Trusting the local CA").
func ctlCA(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) != 0 {
		return errUsage
	}
	pem, err := c.CA(ctx)
	if err != nil {
		return err
	}
	_, err = out.Write(pem)
	return err
}

// ctlWake is `ctl wake NAME`: an asleep site's PHP and database started, once it serves.
func ctlWake(ctx context.Context, c *ctl.Client, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errUsage
	}
	start := time.Now()
	if err := c.Wake(ctx, args[0]); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "%s: serving after %s\n", args[0], time.Since(start).Round(time.Millisecond))
	return err
}

// writeRouter is the router's part of `ctl status`: its live generation, its sites, and
// the error of a configuration it refused.
func writeRouter(out io.Writer, r *ctl.RouterStatus) {
	waking := 0
	for _, s := range r.Sites {
		if !s.Serving {
			waking++
		}
	}
	fmt.Fprintf(out, "\nrouter (%s): generation %d, %d sites (%d asleep or not serving yet), %d reloads\n",
		strings.Join(nonEmpty(r.HTTP, r.HTTPS), " "), r.Generation, len(r.Sites), waking, r.Reloads)
	if r.Error != "" {
		fmt.Fprintf(out, "  error (%s): %s\n", r.ErrorAt.Local().Format(time.TimeOnly), r.Error)
	}
	for _, c := range r.Conflicts {
		fmt.Fprintf(out, "  %s\n", c)
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

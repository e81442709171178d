package firewall

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Engine tells the guard when dockerd is back: WaitRestart returns once dockerd has gone
// away and serves again, or ctx's error (docker.Client implements it).
type Engine interface {
	WaitRestart(ctx context.Context) error
}

// Guard keeps the rules in place while wpinit runs. The rules are first installed before
// dockerd starts (by sysinit); a dockerd that starts puts its own jumps first in the chains
// it shares with wpinit, so the guard applies the rules again once the engine answers, and
// after every restart of dockerd.
type Guard struct {
	Engine Engine
	Apply  func(ctx context.Context) error
	Log    hclog.Logger
}

// Run applies the rules now and after each restart of dockerd, until ctx ends. A failed
// application is logged and tried again at the next restart: the rules installed before
// stay in force meanwhile (a dockerd restart removes none of them).
func (g *Guard) Run(ctx context.Context) error {
	for reason := "engine answers"; ; reason = "dockerd restarted" {
		start := time.Now()
		if err := g.Apply(ctx); err != nil && ctx.Err() == nil {
			g.Log.Error("failed to check the instances' firewall", "reason", reason, "error", err)
		} else if err == nil {
			g.Log.Info("instances' firewall in place", "reason", reason, "duration", time.Since(start).Round(time.Millisecond))
		}
		if err := g.Engine.WaitRestart(ctx); err != nil {
			return nil // ctx ended: a clean stop
		}
	}
}

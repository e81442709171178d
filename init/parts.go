package main

import (
	"context"

	"github.com/hashicorp/go-hclog"
)

// part is one long-lived piece of the daemon.
type part struct {
	name  string
	run   func(ctx context.Context) error // blocks until ctx ends; nil on a clean stop
	ready <-chan struct{}                 // nil: ready once started
}

// runParts starts the parts in order, each once the one before is ready, and stops them in
// reverse order, each waited for, when stop is closed or any part returns. It returns the
// first error a part returned.
func runParts(log hclog.Logger, parts []part, stop <-chan struct{}) (first error) {
	type running struct {
		cancel context.CancelFunc
		done   chan error
	}
	var started []running
	ended := make(chan struct{}, len(parts)) // a part returned by itself
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].cancel()
			err := <-started[i].done
			if err != nil {
				log.Error("part failed", "part", parts[i].name, "error", err)
			}
			log.Debug("part stopped", "part", parts[i].name)
			keep(err)
		}
	}()
	for _, p := range parts {
		ctx, cancel := context.WithCancel(context.Background())
		r := running{cancel: cancel, done: make(chan error, 1)}
		go func() {
			err := p.run(ctx)
			r.done <- err
			ended <- struct{}{}
		}()
		started = append(started, r)
		if !waitReady(p, r.done, stop) {
			return first
		}
		log.Debug("part ready", "part", p.name)
	}
	select {
	case <-stop:
	case <-ended:
	}
	return first
}

// waitReady waits for p to be ready; false when it ended first or a stop was requested.
func waitReady(p part, done chan error, stop <-chan struct{}) bool {
	if p.ready == nil {
		return true
	}
	select {
	case <-p.ready:
		return true
	case err := <-done:
		done <- err // for the stop that collects it
		return false
	case <-stop:
		return false
	}
}

package docker

import (
	"context"
	"time"

	"github.com/moby/moby/client"
)

// WaitRestart blocks until dockerd has gone away and answers again, and returns nil then; it
// returns ctx's error when ctx ends first. The engine's event stream breaks when dockerd
// stops; a new dockerd answers a ping only once it serves its API, which it does after it has
// set up its networks and firewall chains. When dockerd is not up at the call, the wait is for
// it to answer.
func (c *Client) WaitRestart(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// daemon events (a config reload) are rare: the stream is all but silent.
	res := c.api.Events(wctx, client.EventsListOptions{Filters: make(client.Filters).Add("type", "daemon")})
	for gone := false; !gone; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-res.Messages:
			gone = !ok
		case <-res.Err:
			gone = true
		}
	}
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		pctx, pcancel := c.call(ctx)
		_, err := c.api.Ping(pctx, client.PingOptions{})
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
)

// Starter spawns processes and hands back their exit channel: the reaper.
type Starter = reaper.Spawner

// probe reports on ready once the service's readiness check passes, trying every interval
// until ctx ends (the process exited, was stopped, or the readiness timeout passed). It
// exits as soon as it succeeds: a ready service costs nothing.
func probe(ctx context.Context, r config.Ready, readyPath string, starter Starter, ready chan<- struct{}) {
	check := checker(r, readyPath, starter)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		attempt, cancel := context.WithTimeout(ctx, r.Interval.D()+time.Second)
		err := check(attempt)
		cancel()
		if err == nil {
			ready <- struct{}{} // buffered, one per start
			return
		}
		timer.Reset(r.Interval.D())
	}
}

// checker returns one attempt of the configured check.
func checker(r config.Ready, readyPath string, starter Starter) func(context.Context) error {
	switch {
	case r.TCP != "":
		return func(ctx context.Context) error { return dial(ctx, "tcp", r.TCP) }
	case r.Unix != "":
		return func(ctx context.Context) error { return dial(ctx, "unix", r.Unix) }
	case r.HTTP != "":
		return func(ctx context.Context) error { return httpGet(ctx, r.HTTP) }
	case len(r.Command) > 0:
		return func(ctx context.Context) error { return runProbe(ctx, starter, readyPath, r.Command) }
	}
	return func(context.Context) error { return nil }
}

func dial(ctx context.Context, network, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// probeClient never reuses connections: a probe runs until the first success, and an idle
// keep-alive connection would only hold a socket open in the service.
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func httpGet(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("get %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// runProbe runs the ready command through the reaper and waits for it, killing its group
// when ctx ends first.
func runProbe(ctx context.Context, starter Starter, path string, argv []string) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	if err := reaper.RunCmd(ctx, starter, cmd); err != nil {
		return fmt.Errorf("ready command: %w", err)
	}
	return nil
}

// notifySocket is the NOTIFY_SOCKET of one service: a unixgram socket on which the service
// says READY=1, as systemd's sd_notify protocol has it (dockerd and php-fpm speak it).
type notifySocket struct {
	path  string
	conn  *net.UnixConn
	ready chan struct{} // one pending READY=1; the service loop drains it
}

func listenNotify(dir, name string, log hclog.Logger) (*notifySocket, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create notify dir: %w", err)
	}
	path := filepath.Join(dir, name+".sock")
	_ = os.Remove(path) // left over from an earlier run
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("listen on notify socket: %w", err)
	}
	ns := &notifySocket{path: path, conn: conn, ready: make(chan struct{}, 1)}
	go ns.read(log)
	return ns, nil
}

func (ns *notifySocket) read(log hclog.Logger) {
	buf := make([]byte, 4096)
	for {
		n, err := ns.conn.Read(buf)
		if err != nil {
			return // closed
		}
		for _, field := range bytes.Split(buf[:n], []byte("\n")) {
			if string(field) == "READY=1" {
				select {
				case ns.ready <- struct{}{}:
				default:
				}
			}
		}
		log.Trace("notify message", "message", string(bytes.TrimSpace(buf[:n])))
	}
}

func (ns *notifySocket) close() {
	ns.conn.Close()
	_ = os.Remove(ns.path)
}

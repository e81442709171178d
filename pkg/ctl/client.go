package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// APIError is an answer of the server that is not 2xx.
type APIError struct {
	Code    int // HTTP status
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Client talks to a wpinit over its control socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a Client for the socket at path.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{socket: socket, http: &http.Client{Transport: tr}}
}

// Status fetches every status section.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// ServiceAction runs start, stop or restart on the named service.
func (c *Client) ServiceAction(ctx context.Context, name, action string) error {
	return c.do(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(name)+"/"+url.PathEscape(action), nil, nil)
}

// Signal sends the named signal to the service's main process.
func (c *Client) Signal(ctx context.Context, name, sig string) error {
	return c.do(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(name)+"/signal", SignalRequest{Signal: sig}, nil)
}

// Reload makes wpinit reread its config file.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}

// Shutdown asks wpinit for a graceful stop.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/shutdown", nil, nil)
}

// Logs calls fn for the last n lines of a service (all kept with n < 0) and, with follow,
// for every later line until ctx ends or the service goes away.
func (c *Client) Logs(ctx context.Context, name string, n int, follow bool, fn func(LogLine) error) error {
	q := url.Values{}
	if n >= 0 {
		q.Set("n", strconv.Itoa(n))
	}
	if follow {
		q.Set("follow", "1")
	}
	return readLines(ctx, c, "/v1/services/"+url.PathEscape(name)+"/logs?"+q.Encode(), fn)
}

// readLines reads an NDJSON answer of path, one T per line, handing each to fn. A read
// cut by the end of ctx (a follow stopped) is not an error.
func readLines[T any](ctx context.Context, c *Client, path string, fn func(T) error) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l T
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("decode log line: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read logs: %w", err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// send makes a request and turns a non-2xx answer into an *APIError.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	return c.sendBody(ctx, method, path, rd)
}

// sendBody is send with a body streamed as it is read (chunked when its size is unknown).
func (c *Client) sendBody(ctx context.Context, method, path string, rd io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://wpinit"+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach wpinit at %s: %w", c.socket, unwrapURL(err))
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e ErrorResponse
	if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
		e.Error = resp.Status
	}
	return nil, &APIError{Code: resp.StatusCode, Message: e.Error}
}

// unwrapURL drops net/http's "Get \"http://wpinit/...\":" prefix, which names no real URL.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

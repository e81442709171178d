package router

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// activity keeps each site's last request through the router, from nginx's access log:
// one syslog datagram per request on ActivitySocket whose message is the site's name.
type activity struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// maxTracked bounds the names kept: the socket is local, but what it reads is not trusted.
const maxTracked = 10_000

func (a *activity) lastRequest(name string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last[name]
}

// record notes a request for the site a datagram names; anything else is dropped.
func (a *activity) record(msg []byte, now time.Time) {
	name := siteOf(msg)
	if name == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, known := a.last[name]; known || len(a.last) < maxTracked {
		a.last[name] = now
	}
}

// siteOf is the site a syslog datagram of nginx names: "<190>Dec  1 12:00:00 router: NAME"
// (nohostname: no host field), or "" when it is not one.
func siteOf(msg []byte) string {
	i := bytes.LastIndex(msg, []byte("router: "))
	if i < 0 || msg[0] != '<' {
		return ""
	}
	name := string(bytes.TrimSpace(msg[i+len("router: "):]))
	if config.ValidName(name) != nil {
		return ""
	}
	return name
}

// serveActivity reads the datagrams until ctx ends. The socket is writable by everyone in
// the container: nginx's workers do not run as root.
func (a *activity) serve(dir string) (func(), error) {
	path := filepath.Join(dir, ActivitySocket)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		conn.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return // closed
			}
			a.record(buf[:n], time.Now())
		}
	}()
	return func() { conn.Close(); <-done; _ = os.Remove(path) }, nil
}

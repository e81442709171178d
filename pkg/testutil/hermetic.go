package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"regexp"
	"strings"
	"testing"
)

// FreePorts returns n host ports that nothing listens on, chosen by the kernel (port 0) on
// 127.0.0.1 and held until all n are known, so the n are distinct. They come from the
// kernel's ephemeral range, never from 8000-8099 where a running wp-dind publishes its
// sites. A port is free when returned; a test binds it soon after.
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("find a free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// Name returns a name for the objects of tb (containers, volumes, networks, owner labels):
// prefix, then the test's name made DNS-safe, then a random suffix, at most 40 characters,
// so that two runs (two checkouts, a bench beside make test) never share one.
func Name(tb testing.TB, prefix string) string {
	tb.Helper()
	base := strings.Trim(nonName.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("random name: %v", err)
	}
	suffix := hex.EncodeToString(b)
	if max := 40 - len(prefix) - len(suffix) - 2; len(base) > max {
		base = strings.Trim(base[:max], "-")
	}
	if base == "" {
		return prefix + "-" + suffix
	}
	return prefix + "-" + base + "-" + suffix
}

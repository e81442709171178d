package testutil

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benches' shared figures: medians, docker stats' memory, a front page's time to first
// byte (make bench-idle, make bench-density).

// Median is the median of v (0 when empty).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ParseMemUsage reads the first figure of docker stats' MemUsage, "12.3MiB / 1GiB", in MiB.
func ParseMemUsage(s string) (float64, error) {
	used, _, _ := strings.Cut(s, "/")
	used = strings.TrimSpace(used)
	for _, u := range []struct {
		suffix string
		mib    float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"kB", 1.0 / 1024 / 1.024}, {"MB", 1 / 1.048576}, {"GB", 1024 / 1.073741824}, {"B", 1.0 / 1024 / 1024}} {
		if n, ok := strings.CutSuffix(used, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0, fmt.Errorf("memory %q: %w", s, err)
			}
			return v * u.mib, nil
		}
	}
	return 0, fmt.Errorf("memory %q: no unit", s)
}

// MedianTTFB asks url (with the Host header host, when set) n times after 5 warm-up
// requests, one after another, and returns the median time to the response's headers (its
// first byte), in ms. Every answer must be 200.
func MedianTTFB(tb testing.TB, url, host string, n int) float64 {
	tb.Helper()
	client := &http.Client{Timeout: 20 * time.Second}
	var ms []float64
	for i := 0; i < n+5; i++ {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatalf("GET %s: %v", url, err)
		}
		took := time.Since(start) // Do returns once the headers are read
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		if i >= 5 {
			ms = append(ms, float64(took.Microseconds())/1000)
		}
	}
	return Median(ms)
}

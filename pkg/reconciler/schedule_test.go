package reconciler

import (
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		failures int
		inUse    bool
		want     time.Duration
	}{
		{0, false, 0},
		{1, false, 5 * time.Second},
		{2, false, 10 * time.Second},
		{7, false, 5 * time.Minute},
		{20, false, 5 * time.Minute},
		{1, true, time.Second},
		{quickRetries, true, time.Second},
		{quickRetries + 1, true, 160 * time.Second}, // then the usual backoff of that many failures
	}
	for _, tt := range tests {
		if got := retryDelay(tt.failures, tt.inUse); got != tt.want {
			t.Errorf("retryDelay(%d, %v) = %s, want %s", tt.failures, tt.inUse, got, tt.want)
		}
	}
}

func TestLaneOf(t *testing.T) {
	tests := []struct {
		name, key, served string
		want              lane
	}{
		{"new instance", "k1", "", laneFirst},
		{"back to what served", "k1", "k1", laneRepair},
		{"a changed declaration", "k2", "k1", laneFirst},
	}
	for _, tt := range tests {
		if got := laneOf(tt.key, tt.served); got != tt.want {
			t.Errorf("%s: lane %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestStreamBackoff(t *testing.T) {
	tests := []struct{ last, lasted, want time.Duration }{
		{8 * time.Second, 2 * time.Minute, time.Second}, // a stream that lasted: dockerd restarted
		{time.Second, time.Second, 2 * time.Second},     // breaking at once: back off
		{20 * time.Second, 0, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := streamBackoff(tt.last, tt.lasted); got != tt.want {
			t.Errorf("streamBackoff(%s, %s) = %s, want %s", tt.last, tt.lasted, got, tt.want)
		}
	}
}

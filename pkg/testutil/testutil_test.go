package testutil

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	helpers := map[string]func(){
		"hello": func() { os.Stdout.WriteString("hello " + os.Getenv("WHO") + "\n") },
	}
	for name, fn := range Services {
		helpers[name] = fn
	}
	Main(m, helpers)
}

func TestHelperCommand(t *testing.T) {
	out, err := HelperCommand(t, "hello", "WHO=helper").Output()
	if err != nil || string(out) != "hello helper\n" {
		t.Fatalf("helper: %q, %v", out, err)
	}
	cmd := HelperCommand(t, "nope")
	msg, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !asExit(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(string(msg), `unknown helper "nope" (have exit, hello, orphans, serve)`) {
		t.Fatalf("unknown helper: %q, %v", msg, err)
	}
}

func asExit(err error, out **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*out = e
	return ok
}

func TestPoll(t *testing.T) {
	n := 0
	if err := Poll(time.Second, func() bool { n++; return n == 5 }); err != nil || n != 5 {
		t.Errorf("Poll: %v after %d calls", err, n)
	}
	start := time.Now()
	if err := Poll(50*time.Millisecond, func() bool { return false }); err == nil {
		t.Error("Poll of a condition that never holds returned nil")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > time.Second {
		t.Errorf("Poll gave up after %s, want about 50ms", d)
	}
}

// TestPollEvery: capped at 20ms, 400ms hold about 23 calls; doubling without the cap
// would make 9 (1+2+...+256 ms).
func TestPollEvery(t *testing.T) {
	n := 0
	if err := PollEvery(400*time.Millisecond, 20*time.Millisecond, func() bool { n++; return false }); err == nil {
		t.Fatal("PollEvery of a condition that never holds returned nil")
	}
	if n < 14 || n > 30 {
		t.Errorf("%d calls in 400ms, want about 23", n)
	}
}

func TestFreePorts(t *testing.T) {
	ports := FreePorts(t, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d twice", p)
		}
		seen[p] = true
		if p >= 8000 && p <= 8099 {
			t.Errorf("port %d is in wp-dind's published range", p)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		l.Close()
	}
}

func TestName(t *testing.T) {
	a, b := Name(t, "wpt"), Name(t, "wpt")
	if a == b {
		t.Errorf("two names alike: %s", a)
	}
	if !strings.HasPrefix(a, "wpt-testname-") || len(a) > 40 {
		t.Errorf("name %q", a)
	}
	t.Run("A very long sub test name with Spaces/and:slashes that goes on", func(t *testing.T) {
		n := Name(t, "wpt")
		if len(n) > 40 || strings.Contains(n, "--") || nonName.MatchString(strings.ReplaceAll(n, "-", "")) {
			t.Errorf("name %q", n)
		}
	})
}

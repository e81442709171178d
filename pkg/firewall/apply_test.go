package firewall

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// fakeTables plays iptables and iptables-restore for both families: which chains exist and
// how many times each jump is in its chain. A restore input is applied whole or not at all,
// as iptables-restore commits.
type fakeTables struct {
	chains map[string]bool // "iptables DOCKER-USER"
	jumps  map[string]int  // "iptables INPUT WPDIND-INPUT"
	calls  []string        // "iptables -n -L DOCKER-USER", "iptables-restore" per call
	broken string          // a tool that fails every call
}

func newFakeTables() *fakeTables {
	f := &fakeTables{chains: map[string]bool{}, jumps: map[string]int{}}
	for _, fam := range []Family{IPv4, IPv6} {
		for _, c := range []string{"INPUT", "FORWARD", "OUTPUT"} {
			f.chains[string(fam)+" "+c] = true
		}
	}
	return f
}

func (f *fakeTables) run(_ context.Context, name string, args ...string) error {
	tool := filepath.Base(name)
	if len(args) < 2 || args[0] != "-w" {
		return fmt.Errorf("%s called without -w: %v", tool, args)
	}
	args = args[2:]
	f.calls = append(f.calls, strings.TrimSpace(tool+" "+strings.Join(args, " ")))
	if tool == f.broken {
		return errors.New("exit status 4")
	}
	fam, restore := strings.CutSuffix(tool, "-restore")
	if restore {
		data, err := os.ReadFile(args[len(args)-1])
		if err != nil {
			return err
		}
		f.calls[len(f.calls)-1] = tool
		return f.restore(fam, string(data))
	}
	switch {
	case len(args) == 3 && args[0] == "-n" && args[1] == "-L":
		if !f.chains[fam+" "+args[2]] {
			return errors.New("exit status 1")
		}
	case len(args) == 2 && args[0] == "-N":
		f.chains[fam+" "+args[1]] = true
	default:
		return fmt.Errorf("unexpected %s %v", tool, args)
	}
	return nil
}

func (f *fakeTables) restore(fam, input string) error {
	chains, jumps := maps.Clone(f.chains), maps.Clone(f.jumps)
	for _, line := range strings.Split(strings.TrimSpace(input), "\n") {
		fields := strings.Fields(line)
		switch {
		case line == "*filter" || line == "COMMIT":
		case strings.HasPrefix(line, ":"):
			chains[fam+" "+strings.TrimPrefix(fields[0], ":")] = true
		case fields[0] == "-A":
		case fields[0] == "-D" && fields[2] == "-j":
			key := fam + " " + fields[1] + " " + fields[3]
			if jumps[key] == 0 {
				return errors.New("exit status 1: no such rule")
			}
			jumps[key]--
		case fields[0] == "-I" && fields[2] == "1" && fields[3] == "-j":
			if !chains[fam+" "+fields[1]] || !chains[fam+" "+fields[4]] {
				return errors.New("exit status 1: no such chain")
			}
			jumps[fam+" "+fields[1]+" "+fields[4]]++
		default:
			return fmt.Errorf("unexpected restore line %q", line)
		}
	}
	f.chains, f.jumps = chains, jumps
	return nil
}

func TestApply(t *testing.T) {
	sets, err := Plan(wpDind)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeTables()
	tools := Tools{Run: f.run, BinDir: "/run/wp-dind/iptables", TempDir: t.TempDir()}
	for round := 1; round <= 2; round++ {
		f.calls = nil
		if err := Apply(context.Background(), tools, sets); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, key := range []string{"iptables INPUT WPDIND-INPUT", "iptables DOCKER-USER WPDIND-FORWARD",
			"ip6tables INPUT WPDIND-INPUT", "ip6tables FORWARD WPDIND-FORWARD"} {
			if f.jumps[key] != 1 {
				t.Errorf("round %d: jump %s %d times, want once", round, key, f.jumps[key])
			}
		}
		for _, c := range []string{ChainInput, ChainInstance, ChainForward, ChainShared} {
			if !f.chains["iptables "+c] {
				t.Errorf("round %d: no chain %s", round, c)
			}
		}
		created := strings.Contains(strings.Join(f.calls, "\n"), "iptables -N DOCKER-USER")
		if created != (round == 1) {
			t.Errorf("round %d: DOCKER-USER created=%v (calls %q)", round, created, f.calls)
		}
	}
	if left, _ := os.ReadDir(tools.TempDir); len(left) != 0 {
		t.Errorf("restore files left behind: %v", left)
	}
}

// TestApplyPutsJumpsBackFirst: a jump that is there stays once (deleted and inserted at the
// top in one commit), as after dockerd put its own jumps in front of it.
func TestApplyPutsJumpsBackFirst(t *testing.T) {
	sets, _ := Plan(wpDind)
	f := newFakeTables()
	f.chains["iptables DOCKER-USER"] = true
	tools := Tools{Run: f.run, BinDir: "/b", TempDir: t.TempDir()}
	if err := Apply(context.Background(), tools, sets); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if err := Apply(context.Background(), tools, sets[:1]); err != nil {
		t.Fatal(err)
	}
	// one restore of the chains, one replace per jump; no insert after a failed replace
	if n := strings.Count(strings.Join(f.calls, "\n"), "iptables-restore"); n != 3 {
		t.Errorf("%d restores, want 3: %q", n, f.calls)
	}
}

// TestApplyNamesTheFailure: a family whose tool fails is named, and the other one is still
// applied.
func TestApplyNamesTheFailure(t *testing.T) {
	sets, _ := Plan(wpDind)
	f := newFakeTables()
	f.broken = "ip6tables-restore"
	err := Apply(context.Background(), Tools{Run: f.run, BinDir: "/b", TempDir: t.TempDir()}, sets)
	if err == nil || !strings.Contains(err.Error(), "apply ip6tables rules: replace chains: ip6tables-restore") {
		t.Errorf("Apply = %v, want the ip6tables failure named", err)
	}
	if f.jumps["iptables INPUT WPDIND-INPUT"] != 1 {
		t.Error("the IPv4 rules were not applied beside the failing IPv6 ones")
	}
}

func TestEnableBridgeFilter(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "sys", "net", "bridge")
	if err := EnableBridgeFilter(proc); err == nil {
		t.Error("no br_netfilter sysctls: want an error")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"bridge-nf-call-iptables": "0\n", "bridge-nf-call-ip6tables": "1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnableBridgeFilter(proc); err != nil {
		t.Fatal(err)
	}
	for _, name := range bridgeFilter {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); strings.TrimSpace(string(b)) != "1" {
			t.Errorf("%s = %q, want 1", name, b)
		}
	}
}

// restarts plays the engine: it reports n restarts, then waits for the end.
type restarts struct{ n atomic.Int32 }

func (r *restarts) WaitRestart(ctx context.Context) error {
	if r.n.Add(-1) >= 0 {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestGuard: the rules are applied when the guard starts and after each dockerd restart; a
// failed application is tried again at the next one.
func TestGuard(t *testing.T) {
	var applied atomic.Int32
	eng := &restarts{}
	eng.n.Store(2)
	g := &Guard{Engine: eng, Log: hclog.NewNullLogger(), Apply: func(context.Context) error {
		if applied.Add(1) == 2 {
			return errors.New("iptables-restore: exit status 4")
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	testutil.WaitFor(t, 5*time.Second, "three applications", func() bool { return applied.Load() >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil on a clean stop", err)
	}
	if n := applied.Load(); n != 3 {
		t.Errorf("applied %d times, want 3 (start, two restarts)", n)
	}
}

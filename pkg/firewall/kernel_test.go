package firewall

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestApplyOnTheKernel: the rule sets go into a network namespace of the test's own, with
// each iptables backend, three times (a dockerd that put its own jump first in DOCKER-USER in
// between): the kernel takes every rule, and each jump is there once, first in its chain.
func TestApplyOnTheKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "a network namespace of the test's own needs root", "run the tests as root")
	}
	sets, err := Plan(wpDind)
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"nft", "legacy"} {
		t.Run(backend, func(t *testing.T) {
			ns := newNamespace(t)
			tools := Tools{Run: ns.run, BinDir: backendDir(t, backend), TempDir: t.TempDir()}
			ctx := context.Background()
			if err := Apply(ctx, tools, sets); err != nil {
				t.Fatal(err)
			}
			// dockerd's first start: its own jump in front of ours, its RETURN at the end.
			for _, args := range [][]string{{"-N", "DOCKER-ISOLATION"}, {"-I", "DOCKER-USER", "1", "-j", "DOCKER-ISOLATION"}, {"-A", "DOCKER-USER", "-j", "RETURN"}} {
				if err := tools.run(ctx, "iptables", args...); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 2; i++ {
				if err := Apply(ctx, tools, sets); err != nil {
					t.Fatal(err)
				}
			}
			ns.checkSaved(t, tools, IPv4, "-A INPUT -j WPDIND-INPUT", "-A DOCKER-USER -j WPDIND-FORWARD",
				"-A WPDIND-INSTANCE -p tcp -m tcp --dport 1025 -j ACCEPT", "-A WPDIND-SHARED -p tcp -j REJECT --reject-with tcp-reset")
			ns.checkSaved(t, tools, IPv6, "-A INPUT -j WPDIND-INPUT", "-A FORWARD -j WPDIND-FORWARD", "-A WPDIND-FORWARD -o wpbr+ -j DROP")
		})
	}
}

// checkSaved: iptables-save of the family holds each line once, and each jump into a chain of
// ours is the first rule of its chain.
func (ns namespace) checkSaved(t *testing.T, tools Tools, f Family, lines ...string) {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+ns.path, filepath.Join(tools.BinDir, string(f)+"-save"), "-t", "filter").CombinedOutput()
	if err != nil {
		t.Fatalf("%s-save: %v: %s", f, err, out)
	}
	saved := string(out)
	for _, l := range lines {
		if n := strings.Count(saved, l+"\n"); n != 1 {
			t.Errorf("%s: %q %d times, want once:\n%s", f, l, n, saved)
		}
	}
	first := map[string]string{}
	for _, l := range strings.Split(saved, "\n") {
		if fields := strings.Fields(l); len(fields) > 1 && fields[0] == "-A" && first[fields[1]] == "" {
			first[fields[1]] = l
		}
	}
	for _, chain := range []string{"INPUT", "DOCKER-USER", "FORWARD"} {
		if l, ok := first[chain]; ok && !strings.Contains(l, "-j WPDIND-") {
			t.Errorf("%s: the first rule of %s is %q, not our jump", f, chain, l)
		}
	}
}

// backendDir links the tools of backend as sysinit does, or skips when it is not installed.
func backendDir(t *testing.T, backend string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"iptables", "iptables-restore", "iptables-save", "ip6tables", "ip6tables-restore", "ip6tables-save"} {
		base, suffix, _ := strings.Cut(tool, "-")
		target := "/usr/sbin/" + base + "-" + backend
		if suffix != "" {
			target += "-" + suffix
		}
		if _, err := os.Stat(target); err != nil {
			testutil.SkipOrFail(t, target+" is not installed", "apt-get install iptables")
		}
		if err := os.Symlink(target, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// namespace is a network namespace of the test's own, held by a sleeping process.
type namespace struct{ path string }

func newNamespace(t *testing.T) namespace {
	t.Helper()
	holder := exec.Command("unshare", "--net", "sleep", "600")
	if err := holder.Start(); err != nil {
		testutil.SkipOrFail(t, "unshare --net: "+err.Error(), "install util-linux")
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	ns := namespace{path: "/proc/" + strconv.Itoa(holder.Process.Pid) + "/ns/net"}
	// unshare makes the namespace, then execs sleep: wait until it is not the test's own.
	self, _ := os.Readlink("/proc/self/ns/net")
	testutil.WaitFor(t, 5*time.Second, "the test's network namespace", func() bool {
		cur, err := os.Readlink(ns.path)
		return err == nil && cur != self
	})
	return ns
}

// run is a Runner inside the namespace (nsenter); the error holds the command's output.
func (ns namespace) run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + ns.path, name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

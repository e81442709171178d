package sysinit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeSbin writes fake iptables binaries (shell scripts: test doubles for the real tools)
// into a temp dir. exits maps a backend to the exit status of its `-nL` probe; a backend
// absent from exits gets no binaries at all.
func fakeSbin(t *testing.T, exits map[string]int) string {
	t.Helper()
	dir := t.TempDir()
	for backend, code := range exits {
		for _, tool := range iptablesTools {
			script := "#!/bin/sh\nexit " + strconv.Itoa(code) + "\n"
			p := filepath.Join(dir, backendName(tool, backend))
			if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// recorder wraps the real runner and remembers what ran.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) run(ctx context.Context, name string, args ...string) error {
	r.mu.Lock()
	r.ran = append(r.ran, filepath.Base(name))
	r.mu.Unlock()
	return testRun(ctx, name, args...)
}

func TestIptablesChoice(t *testing.T) {
	tests := []struct {
		name        string
		exits       map[string]int
		mode        string
		legacyInUse bool
		want        string // backend; "" when none works
		outcome     Outcome
		probed      []string
	}{
		{"both work: nft", map[string]int{"nft": 0, "legacy": 0}, "", false, BackendNFT, Done, []string{"iptables-nft"}},
		{"nft fails: legacy", map[string]int{"nft": 1, "legacy": 0}, "", false, BackendLegacy, Done, []string{"iptables-nft", "iptables-legacy"}},
		{"nft absent: legacy", map[string]int{"legacy": 0}, "", false, BackendLegacy, Done, []string{"iptables-legacy"}},
		{"legacy rules in use", map[string]int{"nft": 0, "legacy": 0}, "auto", true, BackendLegacy, Done, nil},
		{"forced nft", map[string]int{"nft": 1, "legacy": 0}, "nft", false, BackendNFT, Done, nil},
		{"none works", map[string]int{"nft": 1, "legacy": 2}, "", false, "", Warning, []string{"iptables-nft", "iptables-legacy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sbin := fakeSbin(t, tt.exits)
			tables := filepath.Join(t.TempDir(), "ip_tables_names")
			content := ""
			if tt.legacyInUse {
				content = "filter\nnat\n"
			}
			if err := os.WriteFile(tables, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			bin := filepath.Join(t.TempDir(), "bin")
			opts := Options{Run: rec.run, Iptables: IptablesOptions{
				Mode: tt.mode, SbinDirs: []string{sbin}, BinDir: bin, LegacyTables: []string{tables},
			}}
			step, r, err := prepare(t, opts)
			if err != nil || step.Outcome != tt.outcome || r.Iptables.Backend != tt.want {
				t.Fatalf("got %+v, %+v, %v; want %q %s", step, r.Iptables, err, tt.want, tt.outcome)
			}
			if !slices.Equal(rec.ran, tt.probed) {
				t.Errorf("probed %v, want %v", rec.ran, tt.probed)
			}
			if tt.want == "" {
				if r.Iptables.BinDir != "" || !strings.Contains(step.Error, ErrNoIptables.Error()) {
					t.Errorf("no backend: want no PATH entry and ErrNoIptables, got %+v, %q", r.Iptables, step.Error)
				}
				return
			}
			checkLinks(t, bin, sbin, tt.want)
		})
	}
}

func checkLinks(t *testing.T, bin, sbin, backend string) {
	t.Helper()
	for _, tool := range iptablesTools {
		got, err := os.Readlink(filepath.Join(bin, tool))
		want := filepath.Join(sbin, backendName(tool, backend))
		if err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %s", tool, got, err, want)
		}
	}
}

func TestIptablesRelinkAndIdempotence(t *testing.T) {
	sbin := fakeSbin(t, map[string]int{"nft": 0, "legacy": 0})
	bin := filepath.Join(t.TempDir(), "bin")
	opts := Options{Iptables: IptablesOptions{SbinDirs: []string{sbin}, BinDir: bin, Mode: "legacy"}}
	if step, _, err := prepare(t, opts); err != nil || step.Outcome != Done {
		t.Fatalf("legacy: %+v, %v", step, err)
	}
	opts.Iptables.Mode = "nft"
	if step, _, err := prepare(t, opts); err != nil || step.Outcome != Done {
		t.Fatalf("switch to nft: %+v, %v", step, err)
	}
	checkLinks(t, bin, sbin, BackendNFT)
	step, r, err := prepare(t, opts)
	if err != nil || step.Outcome != Skipped {
		t.Fatalf("second nft run should skip: %+v, %v", step, err)
	}
	if got := r.Iptables.PrependPath("/usr/sbin:/usr/bin"); got != bin+":/usr/sbin:/usr/bin" {
		t.Errorf("PrependPath = %q", got)
	}
}

func TestIptablesBadModeFails(t *testing.T) {
	opts := Options{Iptables: IptablesOptions{Mode: "ebpf", BinDir: t.TempDir()}}
	if step, _, err := prepare(t, opts); err == nil || step.Outcome != Failed {
		t.Fatalf("got %+v, %v", step, err)
	}
}

// On this machine's real binaries (read-only probes: `iptables-X -nL` lists rules).
func TestIptablesRealHost(t *testing.T) {
	requireRoot(t)
	opts := Options{Iptables: DefaultIptablesOptions()}
	opts.Iptables.BinDir = filepath.Join(t.TempDir(), "bin")
	if _, err := findTool(opts.Iptables.SbinDirs, "iptables-nft"); err != nil {
		t.Skip("no iptables-nft installed")
	}
	step, r, err := prepare(t, opts)
	if err != nil || step.Outcome != Done || r.Iptables.Backend == "" {
		t.Fatalf("got %+v, %+v, %v", step, r.Iptables, err)
	}
	t.Logf("this kernel: %s (%s)", r.Iptables.Backend, r.Iptables.Reason)
	// xtables multi-binaries dispatch on argv[0]: the link's own name must select the tool.
	out, err := exec.Command(filepath.Join(opts.Iptables.BinDir, "iptables"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables --version through the link: %v: %s", err, out)
	}
	want := map[string]string{BackendNFT: "(nf_tables)", BackendLegacy: "(legacy)"}[r.Iptables.Backend]
	if !strings.Contains(string(out), want) {
		t.Errorf("iptables --version = %q, want %s", out, want)
	}
	t.Logf("through the link: %s", strings.TrimSpace(string(out)))
}

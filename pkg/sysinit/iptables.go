package sysinit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const stepIptables = "iptables-backend"

// Iptables backends.
const (
	BackendNFT    = "nft"
	BackendLegacy = "legacy"
)

// IptablesOptions configures the choice of iptables backend.
//
// The choice is applied through PATH, not through update-alternatives: BinDir receives
// symlinks iptables, ip6tables and their -save/-restore → the chosen backend's binaries, and
// init/ puts BinDir first in dockerd's PATH (IptablesChoice.PrependPath). This leaves the
// image's /etc/alternatives alone (the root may be read-only), and is redone from scratch at
// every boot, so a container moved to a kernel without nf_tables picks legacy next time.
type IptablesOptions struct {
	// Mode is "" or "auto" to decide, or BackendNFT / BackendLegacy to force a backend.
	Mode string
	// SbinDirs are searched, in order, for iptables-nft, iptables-legacy and the others.
	SbinDirs []string
	// BinDir receives the symlinks; empty skips the step.
	BinDir string
	// LegacyTables are files (per network namespace) listing x_tables tables in use; any
	// non-empty one means legacy rules exist here, put by the outer engine (its embedded DNS
	// rules in our namespace) or by someone else, and nft rules would not mix with them.
	LegacyTables []string
	// ProbeTimeout bounds each `iptables-X -nL` probe; 0 means 10s.
	ProbeTimeout time.Duration
}

// DefaultIptablesOptions are the container's paths.
func DefaultIptablesOptions() IptablesOptions {
	return IptablesOptions{
		SbinDirs:     []string{"/usr/sbin", "/sbin"},
		BinDir:       "/run/wp-dind/iptables",
		LegacyTables: []string{"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names", "/proc/net/arp_tables_names"},
	}
}

// ErrNoIptables means neither backend works here. It is a warning, not a refusal: dockerd
// started with --iptables=false still runs.
var ErrNoIptables = errors.New("neither iptables-nft nor iptables-legacy works")

// IptablesChoice is the backend chosen and where its links are.
type IptablesChoice struct {
	Backend string `json:"backend,omitempty"` // BackendNFT, BackendLegacy, or "" when none works
	Reason  string `json:"reason,omitempty"`
	BinDir  string `json:"bin_dir,omitempty"` // put first in dockerd's PATH; "" when no backend
}

// PrependPath returns path (a PATH value) with BinDir first, or path unchanged when no
// backend was chosen.
func (c IptablesChoice) PrependPath(path string) string {
	if c.BinDir == "" {
		return path
	}
	if path == "" {
		return c.BinDir
	}
	return c.BinDir + string(os.PathListSeparator) + path
}

// iptablesTools are linked into BinDir; the first is required, the rest linked when present.
var iptablesTools = []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"}

// chooseIptables picks the backend like docker:dind's entrypoint: forced by Mode; else legacy
// when legacy tables are already in use; else nft when `iptables-nft -nL` works; else legacy
// when `iptables-legacy -nL` works. It does not modprobe: a container cannot, and the nft
// probe makes the kernel load nf_tables on demand where it can.
func chooseIptables(ctx context.Context, opts Options) (stepResult, IptablesChoice) {
	ipt := opts.Iptables
	if ipt.BinDir == "" {
		return result(stepIptables, Skipped, notConfigured), IptablesChoice{}
	}
	backend, reason, err := decideBackend(ctx, opts.Run, ipt)
	if errors.Is(err, ErrNoIptables) {
		return failure(stepIptables, Warning, err), IptablesChoice{Reason: err.Error()}
	}
	if err != nil {
		return failure(stepIptables, Failed, err), IptablesChoice{}
	}
	changed, err := linkBackend(ipt.SbinDirs, ipt.BinDir, backend)
	if err != nil {
		return failure(stepIptables, Failed, err), IptablesChoice{Backend: backend, Reason: reason}
	}
	choice := IptablesChoice{Backend: backend, Reason: reason, BinDir: ipt.BinDir}
	detail := fmt.Sprintf("%s: %s; %s first in dockerd's PATH", backend, reason, ipt.BinDir)
	if changed == 0 {
		return result(stepIptables, Skipped, "already "+detail), choice
	}
	return result(stepIptables, Done, detail), choice
}

// decideBackend returns the backend and the reason for it.
func decideBackend(ctx context.Context, run Runner, ipt IptablesOptions) (string, string, error) {
	switch ipt.Mode {
	case BackendNFT, BackendLegacy:
		return ipt.Mode, "forced by configuration", nil
	case "", "auto":
	default:
		return "", "", fmt.Errorf("choose iptables backend: unknown mode %q (want auto, nft or legacy)", ipt.Mode)
	}
	if f, ok := legacyTablesInUse(ipt.LegacyTables); ok {
		return BackendLegacy, "legacy tables already in use (" + f + ")", nil
	}
	var errs []error
	for _, b := range []string{BackendNFT, BackendLegacy} {
		bin, err := findTool(ipt.SbinDirs, "iptables-"+b)
		if err == nil {
			err = probe(ctx, run, ipt.ProbeTimeout, bin)
		}
		if err == nil {
			return b, "iptables-" + b + " -nL works", nil
		}
		errs = append(errs, err)
	}
	return "", "", fmt.Errorf("choose iptables backend: %w: %w", ErrNoIptables, errors.Join(errs...))
}

func legacyTablesInUse(files []string) (string, bool) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(b)) != "" {
			return f, true
		}
	}
	return "", false
}

func probe(ctx context.Context, run Runner, timeout time.Duration, bin string) error {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := run(ctx, bin, "-nL"); err != nil {
		return fmt.Errorf("probe %s -nL: %w", bin, err)
	}
	return nil
}

// findTool returns the first executable regular file named name in dirs.
func findTool(dirs []string, name string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("find %s in %s: %w", name, strings.Join(dirs, ":"), fs.ErrNotExist)
}

// backendName maps a tool to its backend binary: ip6tables-save → ip6tables-nft-save.
func backendName(tool, backend string) string {
	base, suffix, _ := strings.Cut(tool, "-")
	if suffix == "" {
		return base + "-" + backend
	}
	return base + "-" + backend + "-" + suffix
}

// linkBackend points BinDir's links at the backend's binaries, replacing each link atomically
// (symlink to a temporary name, rename over). It returns how many links changed.
func linkBackend(sbinDirs []string, binDir, backend string) (int, error) {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return 0, fmt.Errorf("create iptables dir: %w", err)
	}
	changed := 0
	for i, tool := range iptablesTools {
		target, err := findTool(sbinDirs, backendName(tool, backend))
		if err != nil && i == 0 {
			return changed, fmt.Errorf("link iptables backend %s: %w", backend, err)
		}
		link := filepath.Join(binDir, tool)
		if err != nil {
			// an optional tool this backend lacks: never leave the other backend's link.
			if rmErr := os.Remove(link); rmErr == nil {
				changed++
			}
			continue
		}
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		if err := replaceSymlink(target, link); err != nil {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

func replaceSymlink(target, link string) error {
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("link %s: %w", link, err)
	}
	return nil
}

package firewall

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Runner runs name with args to completion; a non-zero exit is an error. In wpinit it
// starts and waits through the reaper (sysinit's Runner).
type Runner func(ctx context.Context, name string, args ...string) error

// Tools is where Apply finds iptables: BinDir holds iptables, iptables-restore, ip6tables and
// ip6tables-restore (sysinit's links to the chosen backend); TempDir receives the
// restore files while they are applied ("" is os.TempDir()).
type Tools struct {
	Run     Runner
	BinDir  string
	TempDir string
}

// Apply installs each rule set: the chains first (created, or flushed and refilled, in one
// iptables-restore commit), then each jump, kept first in its chain. It is idempotent; the
// error names the family and step that failed.
func Apply(ctx context.Context, t Tools, sets []Ruleset) error {
	var errs []error
	for _, s := range sets {
		if err := t.apply(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("apply %s rules: %w", s.Family, err))
		}
	}
	return errors.Join(errs...)
}

func (t Tools) apply(ctx context.Context, s Ruleset) error {
	for _, j := range s.Jumps {
		if j.Create && t.run(ctx, string(s.Family), "-n", "-L", j.From) != nil {
			if err := t.run(ctx, string(s.Family), "-N", j.From); err != nil {
				return fmt.Errorf("create chain %s: %w", j.From, err)
			}
		}
	}
	if err := t.restore(ctx, s.Family, s.Restore()); err != nil {
		return fmt.Errorf("replace chains: %w", err)
	}
	for _, j := range s.Jumps {
		if err := t.jumpFirst(ctx, s.Family, j); err != nil {
			return err
		}
	}
	return nil
}

// jumpFirst makes "-j To" the first rule of From, once: it deletes the jump and inserts it
// at the top in one commit, or, when there is none to delete (that commit fails), inserts it.
// dockerd puts its own jumps first when it starts; this puts ours back in front of them.
func (t Tools) jumpFirst(ctx context.Context, f Family, j Jump) error {
	insert := fmt.Sprintf("-I %s 1 -j %s\n", j.From, j.To)
	if t.restore(ctx, f, "*filter\n"+fmt.Sprintf("-D %s -j %s\n", j.From, j.To)+insert+"COMMIT\n") == nil {
		return nil
	}
	if err := t.restore(ctx, f, "*filter\n"+insert+"COMMIT\n"); err != nil {
		return fmt.Errorf("jump from %s to %s: %w", j.From, j.To, err)
	}
	return nil
}

// restore feeds input to the family's iptables-restore --noflush, from a file of its own.
func (t Tools) restore(ctx context.Context, f Family, input string) error {
	file, err := os.CreateTemp(t.TempDir, "wpdind-firewall-*.rules")
	if err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	defer os.Remove(file.Name())
	_, err = file.WriteString(input)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write rules: %w", err)
	}
	return t.run(ctx, string(f)+"-restore", "--noflush", file.Name())
}

// run runs tool of BinDir with args, waiting up to 5 s for the xtables lock dockerd may hold.
func (t Tools) run(ctx context.Context, tool string, args ...string) error {
	if err := t.Run(ctx, filepath.Join(t.BinDir, tool), append([]string{"-w", "5"}, args...)...); err != nil {
		return fmt.Errorf("%s %s: %w", tool, strings.Join(args, " "), err)
	}
	return nil
}

package config

import (
	"fmt"
	"regexp"
	"strings"
)

// `from` starts a new instance from another one's data: "SRC" (a fresh snapshot of SRC's
// current state) or "SRC@LABEL" (SRC's snapshot LABEL). It is read when the instance is
// created only; the reconciler records what an instance was created from.

var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidSnapshotLabel reports why label cannot name a snapshot, or nil.
func ValidSnapshotLabel(label string) error {
	if !labelRE.MatchString(label) || strings.Contains(label, "..") {
		return fmt.Errorf("invalid snapshot label %q: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters", label)
	}
	return nil
}

// ParseFrom splits a `from` value into the source instance and the snapshot label ("" for
// a fresh snapshot).
func ParseFrom(from string) (src, label string, err error) {
	src, label, hasLabel := strings.Cut(from, "@")
	if err := ValidName(src); err != nil {
		return "", "", fmt.Errorf("from %q: %w", from, err)
	}
	if hasLabel {
		if err := ValidSnapshotLabel(label); err != nil {
			return "", "", fmt.Errorf("from %q: %w", from, err)
		}
	}
	return src, label, nil
}

// froms checks every `from`: well formed, naming another declared instance, and no chain of
// them that comes back to where it started (each would wait for the other's snapshot).
func (v *validator) froms(entries []InstanceEntry) {
	next := map[string]string{}
	for _, e := range entries {
		if e.From == "" {
			continue
		}
		key := e.key + ".from"
		src, _, err := ParseFrom(e.From)
		switch {
		case err != nil:
			v.add(key, "%v", err)
			continue
		case src == string(e.Name):
			v.add(key, "an instance cannot be made from itself")
			continue
		case !declaresName(entries, src):
			v.add(key, "from %q: no instance %q in this file", e.From, src)
			continue
		}
		next[string(e.Name)] = src
	}
	for _, e := range entries {
		seen := map[string]bool{string(e.Name): true}
		for n := next[string(e.Name)]; n != ""; n = next[n] {
			if seen[n] {
				v.add(e.key+".from", "instances made from each other (%q comes back to itself)", e.Name)
				break
			}
			seen[n] = true
		}
	}
}

func declaresName(entries []InstanceEntry, name string) bool {
	for _, e := range entries {
		if string(e.Name) == name {
			return true
		}
	}
	return false
}

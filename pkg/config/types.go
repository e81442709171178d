package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"golang.org/x/sys/unix"
)

// Duration is a time.Duration written as a Go duration string ("10s", "1m30s").
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit, like \"10s\" or \"1m30s\"", b)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", b)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Signal is a signal name: "TERM", "SIGTERM", "quit".
type Signal unix.Signal

func (s *Signal) UnmarshalText(b []byte) error {
	name := strings.ToUpper(string(b))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return fmt.Errorf("unknown signal %q: use a name like \"TERM\", \"QUIT\" or \"INT\"", b)
	}
	*s = Signal(sig)
	return nil
}

func (s Signal) MarshalText() ([]byte, error) {
	return []byte(strings.TrimPrefix(unix.SignalName(unix.Signal(s)), "SIG")), nil
}

// S returns the value as a unix.Signal.
func (s Signal) S() unix.Signal { return unix.Signal(s) }

func (s Signal) String() string { b, _ := s.MarshalText(); return string(b) }

// Name is a DNS-safe label: lowercase letters, digits and '-', starting with a letter,
// not ending with '-', at most 63 characters. Services and instances are named this way.
type Name string

var nameRE = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

func (n *Name) UnmarshalText(b []byte) error {
	if err := ValidName(string(b)); err != nil {
		return err
	}
	*n = Name(b)
	return nil
}

// ValidName reports why s is not a valid Name, or nil.
func ValidName(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("invalid name %q: use lowercase letters, digits and '-', starting with a letter, at most 63 characters", s)
	}
	return nil
}

// Size is a byte count written with a unit: "10MiB", "512m", "1g" (binary multiples).
type Size int64

func (s *Size) UnmarshalText(b []byte) error {
	v, err := units.RAMInBytes(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid size %q: use a number with a unit, like \"512m\" or \"10MiB\"", b)
	}
	*s = Size(v)
	return nil
}

func (s Size) MarshalText() ([]byte, error) { return []byte(units.BytesSize(float64(s))), nil }

// Pids bounds the number of processes and threads of a container: an integer from MinPids to
// MaxPids, so a fork bomb in one site stops at its own limit.
type Pids int64

// Bounds of a container's pids limit: every image needs a few dozen tasks to start (its
// entrypoint, the server and its workers, a health check); past MaxPids a limit no longer
// protects the other sites.
const (
	MinPids = 32
	MaxPids = 1 << 20
)

func (p *Pids) UnmarshalText(b []byte) error {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || v < MinPids || v > MaxPids {
		return fmt.Errorf("invalid pids limit %q: use a whole number from %d to %d", b, MinPids, MaxPids)
	}
	*p = Pids(v)
	return nil
}

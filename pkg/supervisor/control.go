package supervisor

import (
	"context"
	"fmt"
	"reflect"

	"github.com/wp-dind/wp-dind/pkg/config"
	"golang.org/x/sys/unix"
)

// Status returns a snapshot of every service, in dependency order.
func (s *Supervisor) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.services))
	for _, name := range s.cfg.Order {
		if e := s.services[name]; e != nil {
			out = append(out, e.svc.Status())
		}
	}
	return out
}

func (s *Supervisor) lookup(name string) (*Service, error) {
	e := s.entry(name)
	if e == nil {
		return nil, fmt.Errorf("service %q: %w", name, ErrUnknownService)
	}
	return e.svc, nil
}

// Start starts the named service; ErrStopping once Run is stopping.
func (s *Supervisor) Start(ctx context.Context, name string) error {
	if s.isStopping() {
		return fmt.Errorf("start service %q: %w", name, ErrStopping)
	}
	svc, err := s.lookup(name)
	if err != nil {
		return err
	}
	return svc.Start(ctx)
}

// Stop stops the named service and waits for its exit.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	svc, err := s.lookup(name)
	if err != nil {
		return err
	}
	return svc.Stop(ctx)
}

// Restart stops the named service if it runs and starts it again; ErrStopping once Run is
// stopping.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	if s.isStopping() {
		return fmt.Errorf("restart service %q: %w", name, ErrStopping)
	}
	svc, err := s.lookup(name)
	if err != nil {
		return err
	}
	return svc.Restart(ctx)
}

// Signal sends sig to the named service's main process.
func (s *Supervisor) Signal(ctx context.Context, name string, sig unix.Signal) error {
	svc, err := s.lookup(name)
	if err != nil {
		return err
	}
	return svc.Signal(ctx, sig)
}

// Logs returns the last n lines of the named service's output (all kept with n < 0).
func (s *Supervisor) Logs(name string, n int) ([]Line, error) {
	svc, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	return svc.out.tail(n), nil
}

// Follow returns the last n lines and a channel of the following ones, closed when the
// service is removed; call stop when done.
func (s *Supervisor) Follow(name string, n int) (lines []Line, next <-chan Line, stop func(), err error) {
	svc, err := s.lookup(name)
	if err != nil {
		return nil, nil, nil, err
	}
	lines, next, stop = svc.out.follow(n)
	return lines, next, stop, nil
}

// Apply switches to cfg, already validated: services no longer configured are stopped,
// new ones started, and changed ones restarted with their new definition; the others are
// left alone. Removed and changed services are stopped dependents first. The [wpinit]
// settings of the boot config stay: they are read at boot only. Apply takes cfg over.
//
// Once Run is stopping, Apply starts nothing and returns ErrStopping: at once when the stop
// came first, or after stopping the services it removes when the stop came meanwhile.
func (s *Supervisor) Apply(ctx context.Context, cfg *config.Wpinit) error {
	if s.isStopping() {
		return s.refuseApply()
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.isStopping() {
		return s.refuseApply()
	}
	old := s.config()
	cfg.Wpinit = old.Wpinit
	var gone, added []string
	for name, svc := range old.Services {
		if n := cfg.Services[name]; n == nil || !sameDefinition(svc, n) {
			gone = append(gone, name)
		}
	}
	for _, name := range cfg.Order {
		if o := old.Services[name]; o == nil || !sameDefinition(o, cfg.Services[name]) {
			added = append(added, name)
		}
	}
	s.stopAll(ctx, old, gone)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range gone {
		delete(s.services, name)
	}
	if s.isStopping() {
		return s.refuseApply()
	}
	for name, e := range s.services {
		cfg.Services[name] = e.svc.cfg // unchanged: keep the running definition
	}
	s.cfg = cfg
	close(s.changed)
	s.changed = make(chan struct{})
	for _, name := range added {
		if _, err := s.launch(cfg.Services[name]); err != nil {
			return err
		}
	}
	s.opts.Log.Info("configuration applied", "stopped", len(gone)-countIn(gone, added), "started", len(added)-countIn(added, gone), "restarted", countIn(gone, added))
	return nil
}

func (s *Supervisor) refuseApply() error {
	s.opts.Log.Warn("configuration not applied: stopping")
	return fmt.Errorf("apply configuration: %w", ErrStopping)
}

// sameDefinition compares two service definitions as written and resolved.
func sameDefinition(a, b *config.Service) bool { return reflect.DeepEqual(a, b) }

// countIn counts the names of a that are also in b.
func countIn(a, b []string) int {
	n := 0
	for _, x := range a {
		for _, y := range b {
			if x == y {
				n++
			}
		}
	}
	return n
}

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/reaper"
)

// ErrUnknownService is returned for a name that is not configured.
var ErrUnknownService = errors.New("unknown service")

// ErrStopping is returned by Apply, Start and Restart once Run has begun stopping the
// services: from then on no service starts, whatever asks.
var ErrStopping = errors.New("supervisor is stopping")

// CriticalError ends Run when a critical service went FATAL.
type CriticalError struct{ Service string }

func (e *CriticalError) Error() string {
	return fmt.Sprintf("critical service %q failed for good", e.Service)
}

// Options wire a Supervisor into wpinit.
type Options struct {
	Log        hclog.Logger  // wpinit's own records
	Output     hclog.Logger  // the services' output lines, one logger per service below it
	Starter    Starter       // the reaper
	NotifyDir  string        // where the services' NOTIFY_SOCKETs are created
	StopBudget time.Duration // for stopping every service when Run ends
}

// Supervisor runs the services of one wpinit.toml and swaps them on reload.
type Supervisor struct {
	opts    Options
	fatalCh chan string
	ready   chan struct{}
	fast    atomic.Bool
	applyMu sync.Mutex // one reload at a time
	running sync.WaitGroup

	stopping chan struct{} // closed when Run begins to stop the services
	stopOnce sync.Once

	mu       sync.Mutex
	cfg      *config.Wpinit
	services map[string]*entry
	changed  chan struct{} // closed and replaced when the set of services changes
}

type entry struct {
	svc    *Service
	cancel context.CancelFunc
}

// New returns a Supervisor for cfg; nothing runs before Run.
func New(cfg *config.Wpinit, opts Options) *Supervisor {
	return &Supervisor{
		opts: opts, cfg: cfg, services: map[string]*entry{},
		fatalCh: make(chan string, 1), ready: make(chan struct{}), changed: make(chan struct{}),
		stopping: make(chan struct{}),
	}
}

// Ready is closed once every autostart service of the boot config has been ready (or has
// settled as EXITED or FATAL).
func (s *Supervisor) Ready() <-chan struct{} { return s.ready }

// Run starts the services and supervises them until ctx ends or a critical service fails
// for good; then it stops them all in reverse dependency order within the stop budget.
// It returns nil after a requested stop and a *CriticalError after a critical failure.
func (s *Supervisor) Run(ctx context.Context) error {
	s.mu.Lock()
	var boot []*Service
	for _, name := range s.cfg.Order {
		svc, err := s.launch(s.cfg.Services[name])
		if err != nil {
			s.mu.Unlock()
			s.beginStop()
			s.stopAll(context.Background(), s.cfg, s.names())
			return err
		}
		if svc.cfg.Autostart {
			boot = append(boot, svc)
		}
	}
	s.mu.Unlock()
	go s.watchBoot(ctx, boot)

	var err error
	select {
	case <-ctx.Done():
	case name := <-s.fatalCh:
		err = &CriticalError{Service: name}
		s.opts.Log.Error("critical service failed: stopping", "service", name)
	}
	s.beginStop()
	budget, cancel := context.WithTimeout(context.Background(), s.opts.StopBudget)
	defer cancel()
	s.applyMu.Lock() // a reload under way ends first: it sees the stop and starts nothing
	defer s.applyMu.Unlock()
	s.stopAll(budget, s.config(), s.names())
	s.running.Wait()
	return err
}

// beginStop marks the stop: Apply, Start and Restart refuse from now on, and a service
// that would spawn its process (a restart, a backoff retry, its dependencies ready) stays
// stopped instead.
func (s *Supervisor) beginStop() { s.stopOnce.Do(func() { close(s.stopping) }) }

func (s *Supervisor) isStopping() bool { return isClosed(s.stopping) }

func (s *Supervisor) watchBoot(ctx context.Context, boot []*Service) {
	for _, svc := range boot {
		select {
		case <-svc.settledCh:
		case <-ctx.Done():
			return
		}
	}
	close(s.ready)
	s.opts.Log.Info("services ready", "count", len(boot))
}

// launch creates a service and starts its Run; s.mu is held.
func (s *Supervisor) launch(cfg *config.Service) (*Service, error) {
	log := s.opts.Log.Named(cfg.Name)
	var file *rotatingFile
	if dir := s.cfg.Wpinit.LogDir; dir != "" {
		var err error
		if file, err = openRotatingFile(dir, cfg.Name, int64(cfg.Log.MaxSize), cfg.Log.MaxFiles); err != nil {
			log.Warn("failed to open log file: output goes to stderr and the ring only", "error", err)
			file = nil
		}
	}
	out, err := newOutput(s.opts.Output.Named(cfg.Name), cfg.Log.RingLines, file)
	if err != nil {
		return nil, fmt.Errorf("set up service %q: %w", cfg.Name, err)
	}
	var notify *notifySocket
	if cfg.Ready.Notify {
		if notify, err = listenNotify(s.opts.NotifyDir, cfg.Name, log); err != nil {
			out.close()
			return nil, fmt.Errorf("set up service %q: %w", cfg.Name, err)
		}
	}
	svc := newService(cfg, log, supEnv{s}, out, notify)
	ctx, cancel := context.WithCancel(context.Background())
	s.services[cfg.Name] = &entry{svc: svc, cancel: cancel}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		_ = svc.Run(ctx)
	}()
	return svc, nil
}

func (s *Supervisor) config() *config.Wpinit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *Supervisor) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.services))
	for name := range s.services {
		names = append(names, name)
	}
	return names
}

// stopAll stops the named services, each only after the ones depending on it (as cfg
// says) have stopped, then ends their Run. When ctx ends, the remaining ones are killed.
func (s *Supervisor) stopAll(ctx context.Context, cfg *config.Wpinit, names []string) {
	stopped := map[string]chan struct{}{}
	for _, n := range names {
		stopped[n] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for _, name := range names {
		e := s.entry(name)
		var dependents []chan struct{}
		for _, other := range names {
			if c := cfg.Services[other]; c != nil && slices.Contains(c.DependsOn, name) {
				dependents = append(dependents, stopped[other])
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stopped[name])
			for _, d := range dependents {
				<-d
			}
			s.stopOne(ctx, e)
		}()
	}
	wg.Wait()
}

func (s *Supervisor) stopOne(ctx context.Context, e *entry) {
	if e == nil {
		return
	}
	var err error
	if s.fast.Load() {
		err = e.svc.Kill(ctx)
	} else {
		err = e.svc.Stop(ctx)
	}
	if err != nil {
		s.opts.Log.Warn("failed to stop service", "service", e.svc.cfg.Name, "error", err)
	}
	e.cancel()
	<-e.svc.done
}

func (s *Supervisor) entry(name string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.services[name]
}

// KillAll makes the stop fast: every service still running is killed with its process
// group now, and the ones stopped later are killed instead of signalled.
func (s *Supervisor) KillAll() {
	s.fast.Store(true)
	for _, name := range s.names() {
		if e := s.entry(name); e != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), killWait)
				defer cancel()
				_ = e.svc.Kill(ctx)
			}()
		}
	}
}

// supEnv is what the services see of their Supervisor.
type supEnv struct{ s *Supervisor }

func (e supEnv) Start(cmd *exec.Cmd) (int, <-chan reaper.ExitStatus, error) {
	return e.s.opts.Starter.Start(cmd)
}

func (e supEnv) stopping() bool { return e.s.isStopping() }

func (e supEnv) fatal(name string) {
	select {
	case e.s.fatalCh <- name:
	default:
	}
}

func (e supEnv) depsReady(names []string) bool {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	for _, n := range names {
		if entry := e.s.services[n]; entry == nil || !isClosed(entry.svc.readyChan()) {
			return false
		}
	}
	return true
}

// waitDeps waits until every named service is ready at once, following reloads.
func (e supEnv) waitDeps(ctx context.Context, names []string) error {
	for {
		e.s.mu.Lock()
		changed := e.s.changed
		var wait <-chan struct{}
		for _, n := range names {
			entry := e.s.services[n]
			if entry == nil {
				wait = changed
				break
			}
			if ch := entry.svc.readyChan(); !isClosed(ch) {
				wait = ch
				break
			}
		}
		e.s.mu.Unlock()
		if wait == nil {
			return nil
		}
		select {
		case <-wait:
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// NotifyDirFor is the default directory for the services' notify sockets next to a ctl socket.
func NotifyDirFor(socket string) string { return filepath.Join(filepath.Dir(socket), "notify") }

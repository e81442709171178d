package resources

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Container is one container to measure, as the reconciler knows it.
type Container struct {
	ID       string
	Instance string
	Role     string
	Name     string
}

// ContainerUsage is one container in a Sample.
type ContainerUsage struct {
	Container
	Usage
	CPUPercent float64 // of one core, over the last interval; 0 on the first sample
}

// Sample is the last reading of every running container, and the last disk walk.
type Sample struct {
	At         time.Time
	Containers []ContainerUsage
	Disk       DiskUsage
}

// Options configure a Sampler.
type Options struct {
	List     func(ctx context.Context) ([]Container, error) // the containers to measure
	Cgroups  *Cgroups
	Interval time.Duration // between two readings while someone reads
	// IdleAfter is how long after the last read the sampler goes on: longer than
	// Prometheus's scrape interval, so that a scrape finds a fresh reading.
	IdleAfter time.Duration
	Disk      *Disk         // nil: no disk use
	DiskEvery time.Duration // between two disk walks at most
	Logger    hclog.Logger
}

// Sampler reads every container's usage once per interval, for as long as Latest is called
// (the dashboard open, Prometheus scraping), then sleeps until the next call.
type Sampler struct {
	opt  Options
	kick chan struct{}

	mu       sync.Mutex
	latest   Sample
	prev     map[string]Usage
	prevAt   time.Time
	lastRead time.Time
	walking  bool
	fresh    chan struct{} // closed at the next sample
}

// NewSampler returns a Sampler; Run starts it.
func NewSampler(opt Options) *Sampler {
	return &Sampler{opt: opt, kick: make(chan struct{}, 1), fresh: make(chan struct{})}
}

// Latest returns the last sample and keeps the sampler going. When the sampler was asleep
// (nobody read for a while) it waits for a fresh sample, at most wait.
func (s *Sampler) Latest(wait time.Duration) Sample {
	s.mu.Lock()
	s.lastRead = time.Now()
	stale := time.Since(s.latest.At) > 2*s.opt.Interval
	fresh := s.fresh
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if stale && wait > 0 {
		select {
		case <-fresh:
		case <-time.After(wait):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) error {
	tick := time.NewTicker(s.opt.Interval)
	tick.Stop() // asleep until the first Latest
	defer tick.Stop()
	asleep := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			if !asleep {
				continue
			}
			asleep = false
			tick.Reset(s.opt.Interval)
		case <-tick.C:
			if s.idle() {
				asleep = true // nobody reads: no more wake-ups until Latest
				tick.Stop()
				continue
			}
		}
		s.sample(ctx)
	}
}

// idle: nobody read the samples for IdleAfter.
func (s *Sampler) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Since(s.lastRead) > s.opt.IdleAfter
}

// sample reads every container and starts a disk walk when one is due.
func (s *Sampler) sample(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	list, err := s.opt.List(lctx)
	cancel()
	if err != nil {
		s.opt.Logger.Debug("failed to list containers to sample", "error", err)
		return // the last sample stands
	}
	now := time.Now()
	usage := make(map[string]Usage, len(list))
	keep := make(map[string]bool, len(list))
	out := make([]ContainerUsage, 0, len(list))
	s.mu.Lock()
	prev, prevAt := s.prev, s.prevAt
	s.mu.Unlock()
	for _, c := range list {
		keep[c.ID] = true
		u, err := s.opt.Cgroups.Read(c.ID)
		if err != nil {
			if !errors.Is(err, ErrNoCgroup) {
				s.opt.Logger.Debug("failed to read container cgroup", "container_id", c.ID, "error", err)
			}
			continue // stopped: no usage
		}
		cu := ContainerUsage{Container: c, Usage: u}
		if p, ok := prev[c.ID]; ok && now.After(prevAt) && u.CPUSeconds >= p.CPUSeconds {
			cu.CPUPercent = 100 * (u.CPUSeconds - p.CPUSeconds) / now.Sub(prevAt).Seconds()
		}
		usage[c.ID] = u
		out = append(out, cu)
	}
	s.opt.Cgroups.Forget(keep)
	s.mu.Lock()
	s.prev, s.prevAt = usage, now
	s.latest.At, s.latest.Containers = now, out
	close(s.fresh)
	s.fresh = make(chan struct{})
	walk := s.opt.Disk != nil && !s.walking && now.Sub(s.latest.Disk.At) >= s.opt.DiskEvery
	s.walking = s.walking || walk
	s.mu.Unlock()
	if walk {
		go s.walk(ctx)
	}
}

func (s *Sampler) walk(ctx context.Context) {
	d := s.opt.Disk.Walk(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest.Disk, s.walking = d, false
}

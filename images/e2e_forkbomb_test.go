package images_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bombFor is how long the fork bomb runs while the other sites are polled.
const bombFor = 20 * time.Second

// forkBomb: a bash fork bomb as www-data (what a site's PHP runs as) in victim's PHP container
// fills its pids limit and no more, while the others answer 200 to a request every 200 ms
// throughout; once the bomb is killed (the container killed, brought back by dockerd and
// the reconciler) the victim serves again.
func (x *isolation) forkBomb(victim site, others []site) {
	t, d := x.t, x.d
	php := victim.Name + "-php"
	limit := x.pidsLimit(php)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var p poll
	wg.Add(1)
	go func() { defer wg.Done(); p.run(d, others, done) }()
	x.inDind("docker", "exec", "-d", "-u", "www-data", php, "bash", "-c", ":(){ :|:& };:")
	start, peak := time.Now(), 0
	for time.Since(start) < bombFor {
		if n, err := strconv.Atoi(x.inDind("docker", "stats", "--no-stream", "--format", "{{.PIDs}}", php)); err == nil {
			peak = max(peak, n)
		}
	}
	close(done)
	wg.Wait()
	t.Logf("fork bomb in %s for %.0f s: %d processes at most (pids limit %d); %s", php, time.Since(start).Seconds(), peak, limit, p.summary())
	if peak < limit*3/4 || peak > limit {
		t.Errorf("the bomb reached %d processes in %s, want it held near its pids limit %d", peak, php, limit)
	}
	if p.failures > 0 || p.requests < len(others)*int(bombFor/(400*time.Millisecond)) {
		t.Errorf("while the bomb ran: %s, want every request answered 200", p.summary())
	}
	killed := time.Now()
	x.inDind("docker", "kill", php)
	if _, err := d.waitSites([]site{victim}, 3*time.Minute); err != nil {
		t.Fatalf("%s after the bomb was killed: %v", victim.Name, err)
	}
	t.Logf("%s serves again %.1f s after its PHP container was killed", victim.Name, time.Since(killed).Seconds())
}

// pidsLimit is the container's pids limit as its cgroup enforces it; the test stops before
// any bomb when there is none (a bomb without one would take the machine's processes).
func (x *isolation) pidsLimit(container string) int {
	x.t.Helper()
	out := x.inDind("docker", "exec", container, "sh", "-c",
		"cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
	limit, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || limit <= 0 {
		x.t.Fatalf("%s has no pids limit in its cgroup (%q): no fork bomb without one", container, out)
	}
	if cfg := x.inDind("docker", "inspect", "-f", "{{.HostConfig.PidsLimit}}", container); cfg != strconv.Itoa(limit) {
		x.t.Fatalf("%s: pids limit %s in its config, %d in its cgroup", container, cfg, limit)
	}
	return limit
}

// poll asks each site for its front page every 200 ms until done (one goroutine per site),
// and counts the answers.
type poll struct {
	mu                 sync.Mutex
	requests, failures int
	slowest            time.Duration
	errs               []string
}

func (p *poll) run(d *dind, sites []site, done <-chan struct{}) {
	var wg sync.WaitGroup
	for _, s := range sites {
		base := d.siteBase(s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.site(s, base, done)
		}()
	}
	wg.Wait()
}

func (p *poll) site(s site, base string, done <-chan struct{}) {
	c := webClient(nil)
	c.Timeout = 5 * time.Second
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		start := time.Now()
		resp, _, err := webDo(c, http.MethodGet, base+"/", siteHost(s), nil)
		p.record(s, time.Since(start), resp, err)
	}
}

func (p *poll) record(s site, took time.Duration, resp *http.Response, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	p.slowest = max(p.slowest, took)
	switch {
	case err != nil:
		p.failures++
		p.errs = append(p.errs, s.Name+": "+err.Error())
	case resp.StatusCode != http.StatusOK:
		p.failures++
		p.errs = append(p.errs, fmt.Sprintf("%s: %d", s.Name, resp.StatusCode))
	}
}

func (p *poll) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("%d requests to the other sites, %d failed, slowest %s", p.requests, p.failures, p.slowest.Round(time.Millisecond))
	if len(p.errs) > 0 {
		s += " (" + strings.Join(p.errs[:min(5, len(p.errs))], "; ") + ")"
	}
	return s
}

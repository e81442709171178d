package images_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// envReliability: 1 runs TestReliability (make reliability-test).
const envReliability = "WPDIND_RELIABILITY"

// The sites of the reliability test. All are published when the container starts (a port
// cannot be published later); instances.toml declares them phase by phase.
var (
	relServing = []site{
		{Name: "keep-a", ID: 1, Port: 8001, Title: "Kept A"},
		{Name: "keep-b", ID: 2, Port: 8002, Title: "Kept B"},
	}
	relNew = []site{
		{Name: "new-a", ID: 3, Port: 8003, Title: "New A"},
		{Name: "new-b", ID: 4, Port: 8004, Title: "New B"},
		{Name: "new-c", ID: 5, Port: 8005, Title: "New C"},
	}
	relFive = []site{
		{Name: "five-a", ID: 6, Port: 8006, Title: "Five A"},
		{Name: "five-b", ID: 7, Port: 8007, Title: "Five B"},
		{Name: "five-c", ID: 8, Port: 8008, Title: "Five C"},
		{Name: "five-d", ID: 9, Port: 8009, Title: "Five D"},
		{Name: "five-e", ID: 10, Port: 8010, Title: "Five E"},
	}
	// relRenamed is new-c under another name, with its id and port (and a title of its own,
	// to tell it from new-c on that port).
	relRenamed = site{Name: "new-c-renamed", ID: 5, Port: 8005, Title: "Renamed C"}
)

// TestReliability runs the product through what must not take the sites down: a kill -9 of
// the inner dockerd while three new instances converge beside two that serve (the serving
// ones answer again within 15 s of dockerd being ready, the new ones serve afterwards), five
// new sites whose status follows what they serve (running and healthy within 5 s of their
// first 200, never down while they answer), and a rename that keeps the id and port (it
// serves within the time of a new instance, with no address conflict in wpinit's log).
// make reliability-test runs it (WPDIND_RELIABILITY=1).
func TestReliability(t *testing.T) {
	requireEnv(t, envReliability, "reliability-test")
	// The renamed site takes new-c's port: published once.
	d := newDind(t, append(append(append([]site{}, relServing...), relNew...), relFive...))
	rel := &reliability{t: t, d: d}
	rel.declare(relServing)
	begin := time.Now()
	rel.boot()
	rel.killDuringConvergence()
	rel.statusFollowsSites()
	rel.rename()
	t.Logf("reliability test in %.1f s", time.Since(begin).Seconds())
}

// reliability is the state the phases share.
type reliability struct {
	t        *testing.T
	d        *dind
	declared []site
	newTook  []time.Duration // the five new sites: from the save to their first 200
}

// declare writes instances.toml with sites, as an editor saves it (a new file renamed over
// the old: the reconciler watches the folder).
func (r *reliability) declare(sites []site) {
	r.t.Helper()
	r.d.declare(sites)
	r.declared = sites
}

func (r *reliability) boot() {
	start := time.Now()
	r.d.start()
	r.d.waitStatus("the serving sites up", 8*time.Minute, all(servicesReady, imagesDone, instancesUp(len(relServing))))
	if _, err := r.d.waitSites(relServing, 30*time.Second); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("boot: %d sites serve %.1f s after docker run", len(relServing), time.Since(start).Seconds())
}

// killDuringConvergence declares three new sites, kills dockerd with SIGKILL once the three
// converge, and measures the serving sites' downtime against dockerd's return. The kill
// comes when each has its PHP container (its database has initialised) and no web container
// is being started: two moments a kill breaks for good, whatever wpinit does (see
// docs/operations.md, "After dockerd restarted").
func (r *reliability) killDuringConvergence() {
	t, d := r.t, r.d
	r.declare(append(append([]site{}, relServing...), relNew...))
	saved := time.Now()
	watch := watchSites(d, relServing)
	defer watch.stop()
	st, _ := d.waitStatus("three new instances converging", 3*time.Minute, func(st *ctl.Status) error {
		out, err := execIn(d.id, "", "docker", "ps", "-a", "--format", "{{.Names}} {{.State}}")
		if err != nil {
			return err
		}
		for _, s := range relNew {
			switch {
			case !strings.Contains(out, s.Name+"-php running\n"):
				return fmt.Errorf("%s has no PHP container running yet", s.Name)
			case strings.Contains(out, s.Name+"-web created\n"):
				return fmt.Errorf("%s's web container is being started", s.Name)
			}
		}
		return nil
	})
	for _, s := range relNew {
		if i := instanceOf(st, s.Name); i == nil || i.State == ctl.InstanceRunning {
			t.Logf("%s is already %v at the kill", s.Name, i)
		}
	}
	before := service(st, "dockerd")
	mustDocker(t, "exec", d.id, "kill", "-9", strconv.Itoa(before.Pid))
	killed := time.Now()
	t.Logf("kill -9 dockerd (pid %d) %.1f s after the save", before.Pid, killed.Sub(saved).Seconds())
	st, _ = d.waitStatus("dockerd ready again", 3*time.Minute, func(st *ctl.Status) error {
		if s := service(st, "dockerd"); s.Pid == before.Pid || s.State != "RUNNING" || !s.Ready {
			return fmt.Errorf("dockerd: pid %d, %s, ready %t", s.Pid, s.State, s.Ready)
		}
		return nil
	})
	ready := readyAt(t, d, killed, service(st, "dockerd").Pid)
	t.Logf("dockerd ready again %.1f s after the kill", ready.Sub(killed).Seconds())
	if _, err := d.waitSites(relServing, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	watch.stop()
	for _, s := range relServing {
		down, back := watch.outage(s.Name, killed)
		t.Logf("downtime %s: %.1f s (back %.1f s after dockerd was ready)", s.Name, down.Seconds(), back.Sub(ready).Seconds())
		if back.Sub(ready) > 15*time.Second {
			t.Errorf("%s answered again %.1f s after dockerd was ready, want 15 s at most", s.Name, back.Sub(ready).Seconds())
		}
	}
	// Their work in flight is planned again once dockerd is back: they do not wait out the
	// deadlines of the waits that dockerd's death broke (3 min for a container's health).
	if _, err := d.waitSites(relNew, 2*time.Minute); err != nil {
		table, _ := docker("exec", d.id, "ctl", "status")
		t.Fatalf("the new sites after the kill: %v\n%s", err, table)
	}
	t.Logf("the three new sites serve %.1f s after dockerd was ready", time.Since(ready).Seconds())
	d.waitStatus("every instance running and healthy", 2*time.Minute, instancesUp(len(r.declared)))
}

// statusFollowsSites declares five more sites and polls `ctl status --json` and each new
// site every 500 ms: once a site has answered 200, it is running and healthy within 5 s,
// and it never shows down while it answers.
func (r *reliability) statusFollowsSites() {
	t, d := r.t, r.d
	r.declare(append(append([]site{}, r.declared...), relFive...))
	saved := time.Now()
	type seen struct{ first200, firstServing time.Time }
	got := map[string]*seen{}
	for _, s := range relFive {
		got[s.Name] = &seen{}
	}
	var violations []string
	err := testutil.PollEvery(6*time.Minute, 500*time.Millisecond, func() bool {
		before := servingNow(d, relFive)
		st, err := d.status()
		if err != nil {
			return false
		}
		after := servingNow(d, relFive)
		now := time.Now()
		done := true
		for _, s := range relFive {
			g, i := got[s.Name], instanceOf(st, s.Name)
			if g.first200.IsZero() && after[s.Name] {
				g.first200 = now
			}
			if i != nil && g.firstServing.IsZero() && i.Serving() {
				g.firstServing = now
			}
			if i != nil && before[s.Name] && after[s.Name] && i.Health == "down" {
				violations = append(violations, fmt.Sprintf("%s answers 200 but shows %s / %s at %.1f s", s.Name, i.State, i.Health, now.Sub(saved).Seconds()))
			}
			// Watch each site for 5 s after its status settled, to catch a flip to down.
			done = done && !g.first200.IsZero() && !g.firstServing.IsZero() && now.Sub(g.firstServing) > 5*time.Second
		}
		return done
	})
	for _, v := range violations {
		t.Error(v)
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g := got[n]
		if g.first200.IsZero() || g.firstServing.IsZero() {
			t.Errorf("%s: first 200 at %v, running/healthy at %v", n, g.first200, g.firstServing)
			continue
		}
		lag := g.firstServing.Sub(g.first200)
		r.newTook = append(r.newTook, g.first200.Sub(saved))
		t.Logf("status lag %s: first 200 %.1f s after the save, running/healthy %.1f s, lag %.1f s",
			n, g.first200.Sub(saved).Seconds(), g.firstServing.Sub(saved).Seconds(), lag.Seconds())
		if lag > 5*time.Second {
			t.Errorf("%s: running/healthy %.1f s after its first 200, want 5 s at most", n, lag.Seconds())
		}
	}
	if err != nil {
		table, _ := docker("exec", d.id, "ctl", "status")
		t.Fatalf("the five new sites: %v\n%s", err, table)
	}
}

// rename renames new-c, keeping its id and port: it serves within the time of a new site
// (the slowest of the five, which converged three at a time) and wpinit's log holds no
// address conflict.
func (r *reliability) rename() {
	t, d := r.t, r.d
	sites := make([]site, 0, len(r.declared))
	for _, s := range r.declared {
		if s.Name == "new-c" {
			s = relRenamed
		}
		sites = append(sites, s)
	}
	r.declare(sites)
	saved := time.Now()
	if _, err := d.waitSites([]site{relRenamed}, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	took := time.Since(saved)
	slowest := slices.Max(r.newTook)
	t.Logf("rename with the same id and port: serves %.1f s after the save (a new site: %.1f-%.1f s)",
		took.Seconds(), slices.Min(r.newTook).Seconds(), slowest.Seconds())
	if took > slowest {
		t.Errorf("the renamed site took %.1f s, more than a new site (%.1f s)", took.Seconds(), slowest.Seconds())
	}
	// The site may answer the test before the worker that installed it: its state says when
	// the convergence is over, and with it every line it logs.
	d.waitStatus(relRenamed.Name+" running", time.Minute, func(st *ctl.Status) error {
		if i := instanceOf(st, relRenamed.Name); i == nil || i.State != ctl.InstanceRunning {
			return fmt.Errorf("%s is %v", relRenamed.Name, i)
		}
		return nil
	})
	logs := wpinitLog(t, d, saved)
	if !strings.Contains(logs, "instance running: instance="+relRenamed.Name+" ") {
		t.Fatalf("wpinit's log since the save does not show %s running:\n%s", relRenamed.Name, lastLines(logs, 20))
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "Address already in use") {
			t.Errorf("wpinit's log: %s", line)
		}
	}
}

// wpinitLog is what wpinit logged (on its standard error) since since.
func wpinitLog(t *testing.T, d *dind, since time.Time) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", "--since", since.UTC().Format(time.RFC3339Nano), d.id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs: %v: %s", err, out)
	}
	return string(out)
}

// readyAt is when wpinit saw dockerd (pid) ready, from its log line: the status poll sees
// it later, by the poll's interval and a docker exec, which would flatter the downtimes.
func readyAt(t *testing.T, d *dind, since time.Time, pid int) time.Time {
	t.Helper()
	logs := wpinitLog(t, d, since)
	mark := fmt.Sprintf("wpinit.supervisor.dockerd: service ready: pid=%d ", pid)
	for _, line := range strings.Split(logs, "\n") {
		if stamp, _, ok := strings.Cut(line, " "); ok && strings.Contains(line, mark) {
			if at, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
				return at
			}
		}
	}
	t.Fatalf("no %q line in wpinit's log", mark)
	return time.Time{}
}

func instanceOf(st *ctl.Status, name string) *ctl.InstanceStatus {
	if st == nil || st.Instances == nil {
		return nil
	}
	for i := range st.Instances.Instances {
		if st.Instances.Instances[i].Name == name {
			return &st.Instances.Instances[i]
		}
	}
	return nil
}

// servingNow asks each site once (2 s at most each).
func servingNow(d *dind, sites []site) map[string]bool {
	out := map[string]bool{}
	for _, s := range sites {
		out[s.Name] = siteAnswers(d, s) == nil
	}
	return out
}

var quickClient = &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// siteAnswers: s answers 200 with its WordPress front page, within 2 s.
func siteAnswers(d *dind, s site) error {
	resp, body, err := webDo(quickClient, http.MethodGet, d.siteBase(s)+"/", siteHost(s), nil)
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK || !strings.Contains(body, s.Title):
		return fmt.Errorf("%s: %d", s.Name, resp.StatusCode)
	}
	return nil
}

// siteWatch asks sites every 500 ms, each in its own goroutine, and keeps what they answered.
type siteWatch struct {
	mu      sync.Mutex
	samples map[string][]sample
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

type sample struct {
	at time.Time
	ok bool
}

func watchSites(d *dind, sites []site) *siteWatch {
	w := &siteWatch{samples: map[string][]sample{}, done: make(chan struct{})}
	for _, s := range sites {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				ok := siteAnswers(d, s) == nil
				w.mu.Lock()
				w.samples[s.Name] = append(w.samples[s.Name], sample{time.Now(), ok})
				w.mu.Unlock()
				select {
				case <-w.done:
					return
				case <-tick.C:
				}
			}
		}()
	}
	return w
}

func (w *siteWatch) stop() {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
}

// outage is how long the site did not answer after since (from its first failed ask to its
// first answer after it), and when it answered again; zero and since when it never failed.
func (w *siteWatch) outage(name string, since time.Time) (time.Duration, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var down time.Time
	for _, s := range w.samples[name] {
		switch {
		case s.at.Before(since):
		case !s.ok && down.IsZero():
			down = s.at
		case s.ok && !down.IsZero():
			return s.at.Sub(down), s.at
		}
	}
	if down.IsZero() {
		return 0, since
	}
	return time.Since(down), time.Now()
}

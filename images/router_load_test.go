package images_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// addedSite is the site reloadsUnderLoad adds: reached by name only (no port), asleep after
// 20 s without a request (the sleep test's).
var addedSite = site{Name: "added", Title: "Added under load", ID: 3}

// withAddedSite is conf/instances.toml without legacy-74 (the last site of the file) and
// with addedSite.
func (r *routerDind) withAddedSite(t *testing.T) string {
	t.Helper()
	src := readFile(t, filepath.Join(r.conf, "instances.toml"))
	i := strings.Index(src, "\n[[instance]]\nname = \"legacy-74\"")
	if i < 0 {
		t.Fatalf("instances.toml has no legacy-74 as expected:\n%s", src)
	}
	return src[:i] + fmt.Sprintf("\n[[instance]]\nname = %q\nid = %d\ntitle = %q\npublish_port = false\nsleep_after = \"20s\"\n",
		addedSite.Name, addedSite.ID, addedSite.Title)
}

// loadRun is what the request loop saw, and when the router changed under it.
type loadRun struct {
	mu       sync.Mutex
	done     int
	failures []string
	reloads  []string // generations that went live during the loop
}

func (l *loadRun) record(n int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done++
	if err != nil {
		l.failures = append(l.failures, fmt.Sprintf("request %d: %v", n, err))
	}
}

// reloadsUnderLoad: 1000 requests to site-84 over HTTPS, paced over two minutes, while
// instances.toml adds a site (routed at once to the wake endpoint, then to the site once it
// serves: two reloads) and removes legacy-74; no request fails, the new name serves and
// the removed one answers what an unknown name does.
func (r *routerDind) reloadsUnderLoad(t *testing.T) {
	s, gone := r.sites[0], r.sites[1]
	st, err := r.status()
	if err != nil {
		t.Fatal(err)
	}
	gen0 := st.Router.Generation
	c := r.client(nil, false)
	u := r.named("https", s.Name+".localhost") + "/"
	const total, pace = 1000, 120 * time.Millisecond
	run := &loadRun{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go r.watchReloads(run, gen0, stop)
	tick := time.NewTicker(pace)
	for i := range total {
		<-tick.C
		if i == 20 { // the loop runs: change the sites under it
			if err := os.WriteFile(filepath.Join(r.conf, "instances.toml"), []byte(r.withAddedSite(t)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body, err := fetch(c, u)
			if err == nil {
				err = wordpress(resp, body, s)
			}
			run.record(i, err)
		}()
	}
	tick.Stop()
	wg.Wait()
	close(stop)
	run.mu.Lock()
	defer run.mu.Unlock()
	t.Logf("%d requests to %s, %d failed; router generations live during the loop: %s", run.done, u, len(run.failures), strings.Join(run.reloads, ", "))
	if len(run.failures) > 0 {
		t.Errorf("%d of %d requests failed: %s", len(run.failures), total, strings.Join(run.failures[:min(5, len(run.failures))], "; "))
	}
	if len(run.reloads) < 2 {
		t.Errorf("%d reloads during the loop, want the add-and-remove's and the new site's serving one", len(run.reloads))
	}
	r.checkAddedAndGone(t, addedSite, gone)
}

// watchReloads notes each router generation that goes live until stop, with what it routes.
func (r *routerDind) watchReloads(run *loadRun, gen uint64, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
		st, err := r.status()
		if err != nil || st.Router == nil || st.Router.Generation == gen {
			continue
		}
		gen = st.Router.Generation
		var sites []string
		for _, s := range st.Router.Sites {
			sites = append(sites, fmt.Sprintf("%s(serving=%t)", s.Name, s.Serving))
		}
		run.mu.Lock()
		run.reloads = append(run.reloads, fmt.Sprintf("%d at request %d: %s", gen, run.done, strings.Join(sites, " ")))
		run.mu.Unlock()
	}
}

// checkAddedAndGone: the added name serves its WordPress; the removed name answers 404 on
// HTTP, as a name no site has, and its certificate is gone from HTTPS. The added site
// may be asleep already (nothing asked for it for its 20 s): the request wakes it.
func (r *routerDind) checkAddedAndGone(t *testing.T, added, gone site) {
	r.waitStatus("the added site converged and routed", 5*time.Minute, all(awake(added.Name), inRouter(added.Name)))
	resp, body, err := fetch(r.client(nil, true), r.named("https", added.Name+".localhost")+"/")
	if err == nil {
		err = wordpress(resp, body, added)
	}
	if err != nil {
		t.Errorf("the added site: %v", err)
	}
	resp, body, err = fetch(r.client(nil, false), r.named("http", gone.Name+".localhost")+"/")
	if err != nil || resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no site is called "+gone.Name) {
		t.Errorf("the removed site over HTTP: %v %v %q, want the 404 of an unknown name", err, resp, body)
	}
	if _, _, err := fetch(r.client(nil, false), r.named("https", gone.Name+".localhost")+"/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("the removed site over HTTPS: %v, want a certificate error", err)
	}
}

// sleep: the added site, idle for its sleep_after (20 s), reports sleeping with its PHP and
// database stopped, stays so across a pass, and the next request through the router ends
// in a 200 from WordPress within 5 s; a post written before the sleep is there.
func (r *routerDind) sleep(t *testing.T) {
	a := addedSite
	r.wakeByRequest(t, a) // it may have slept since the last test's request
	post, err := r.newPost(a, "Written before the sleep")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r.waitStatus("the added site asleep", 3*time.Minute, instanceState(a.Name, ctl.InstanceSleeping))
	t.Logf("%s asleep %.1f s after the post was written", a.Name, time.Since(start).Seconds())
	want := map[string]string{a.Name + "-php": "exited", a.Name + "-db": "exited", a.Name + "-web": "running"}
	r.waitStates(t, want) // sleeping is reported as the stop begins: the database takes a while to shut down
	before, _ := r.status()
	mustDocker(t, "exec", r.id, "ctl", "reload") // a pass, as a die event or a resync asks
	r.waitStatus("a pass after ctl reload", time.Minute, func(st *ctl.Status) error {
		if !st.Instances.LastPass.After(before.Instances.LastPass) {
			return errors.New("no pass yet")
		}
		return instanceState(a.Name, ctl.InstanceSleeping)(st)
	})
	r.checkStates(t, want)
	c := r.client(nil, true)
	u := r.named("https", a.Name+".localhost")
	woke := time.Now()
	resp, body, err := fetch(c, u+"/")
	took := time.Since(woke)
	if err == nil {
		err = wordpress(resp, body, a)
	}
	if err != nil || took > 5*time.Second {
		t.Fatalf("the request that wakes %s: %v after %s (want a 200 from WordPress within 5 s)", a.Name, err, took)
	}
	t.Logf("woken by a request: 200 from WordPress after %s", took.Round(time.Millisecond))
	resp, body, err = fetch(c, fmt.Sprintf("%s/?p=%d", u, post))
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(body, "Written before the sleep") {
		t.Errorf("the post written before the sleep: %v %v", err, resp)
	}
}

// wakeByRequest asks for s's front page through the router, which wakes it if it sleeps,
// and waits until its containers run.
func (r *routerDind) wakeByRequest(t *testing.T, s site) {
	t.Helper()
	resp, body, err := fetch(r.client(nil, true), r.named("https", s.Name+".localhost")+"/")
	if err == nil {
		err = wordpress(resp, body, s)
	}
	if err != nil {
		t.Fatalf("%s through the router: %v", s.Name, err)
	}
	r.waitStatus(s.Name+" running", time.Minute, instanceState(s.Name, ctl.InstanceRunning))
}

// awake: the instance called name has converged: running and healthy, or asleep.
func awake(name string) func(*ctl.Status) error {
	return func(st *ctl.Status) error {
		if st.Instances == nil {
			return errors.New("no instances section in the status")
		}
		for _, i := range st.Instances.Instances {
			if i.Name == name && (i.State == ctl.InstanceSleeping || i.State == ctl.InstanceRunning && i.Health == "healthy") {
				return nil
			}
		}
		return fmt.Errorf("%s is neither running and healthy nor asleep", name)
	}
}

// inRouter: the router's live configuration has the site called name, proxied or on the
// wake endpoint.
func inRouter(name string) func(*ctl.Status) error {
	return func(st *ctl.Status) error {
		if _, ok := routerSite(st, name); !ok {
			return fmt.Errorf("the router has no %s yet", name)
		}
		return nil
	}
}

// instanceState: the instance called name is in state.
func instanceState(name, state string) func(*ctl.Status) error {
	return func(st *ctl.Status) error {
		for _, i := range st.Instances.Instances {
			if i.Name == name {
				if i.State != state {
					return fmt.Errorf("%s is %s, want %s", name, i.State, state)
				}
				return nil
			}
		}
		return fmt.Errorf("no instance %s", name)
	}
}

// checkStates: the inner engine's containers are in the states wanted.
func (r *routerDind) checkStates(t *testing.T, want map[string]string) {
	t.Helper()
	if err := r.states(want); err != nil {
		t.Error(err)
	}
}

// waitStates waits (at most a minute) until the inner engine's containers are in the states
// wanted.
func (r *routerDind) waitStates(t *testing.T, want map[string]string) {
	t.Helper()
	start := time.Now()
	testutil.WaitFor(t, time.Minute, fmt.Sprintf("containers %v", want), func() bool { return r.states(want) == nil })
	t.Logf("containers %v %.1f s after sleeping was reported", want, time.Since(start).Seconds())
}

func (r *routerDind) states(want map[string]string) error {
	for name, state := range want {
		if got, err := docker("exec", r.id, "docker", "inspect", "-f", "{{.State.Status}}", name); err != nil || got != state {
			return fmt.Errorf("%s is %q (%v), want %s", name, got, err, state)
		}
	}
	return nil
}

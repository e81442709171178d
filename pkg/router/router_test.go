package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/ca"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// fakeNginx stands in for the router's service: it answers the probe with the generation
// of the configuration it loaded last (at start, and at each Reload).
type fakeNginx struct {
	file    string
	gen     atomic.Uint64
	reloads atomic.Int32
	refuse  atomic.Bool // Validate fails
	checked atomic.Int32
}

var genRE = regexp.MustCompile(`generation (\d+),`)

func (f *fakeNginx) load() error {
	b, err := os.ReadFile(f.file)
	if err != nil {
		return err
	}
	var g uint64
	fmt.Sscan(genRE.FindStringSubmatch(string(b))[1], &g)
	f.gen.Store(g)
	return nil
}

func (f *fakeNginx) validate(_ context.Context, file string) error {
	f.checked.Add(1)
	if f.refuse.Load() {
		return errors.New("nginx: [emerg] unknown directive")
	}
	if _, err := os.Stat(file); err != nil {
		return err
	}
	return nil
}

func (f *fakeNginx) reload(context.Context) error { f.reloads.Add(1); return f.load() }

// startRouter runs a Router on a fake nginx listening on a free port.
func startRouter(t *testing.T, wake func(ctx context.Context, name string) error) (*Router, *fakeNginx) {
	t.Helper()
	dir := t.TempDir()
	authority, err := ca.Open(filepath.Join(dir, ".ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePorts(t, 1)[0]
	f := &fakeNginx{file: filepath.Join(dir, "run", ConfigFile)}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", f.gen.Load())
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	r, err := New(Options{
		HTTP: fmt.Sprintf("127.0.0.1:%d", port), HTTPS: ":443", Dir: filepath.Join(dir, "run"), User: "www-data",
		UID: os.Getuid(), GID: os.Getgid(), Services: []Service{{Name: "mail", Upstream: "127.0.0.1:1080"}}, CA: authority,
		Validate: f.validate, Reload: f.reload, Wake: wake, Hold: 2 * time.Second, Logger: hclog.NewNullLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the router is not ready")
	}
	if err := f.load(); err != nil { // the service starts once the first file is written
		t.Fatal(err)
	}
	return r, f
}

func site(name string, serving bool) Site {
	return Site{Name: name, Names: []string{name + ".localhost"}, Upstream: "172.20.1.4:80", Serving: serving}
}

func waitApplied(t *testing.T, r *Router, gen uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Applied(ctx, gen); err != nil {
		t.Fatal(err)
	}
}

// TestApply: a new set of sites is written, checked, reloaded and live once the router
// answers its generation; a configuration nginx refuses leaves the live one in place and
// shows in the status.
func TestApply(t *testing.T) {
	r, f := startRouter(t, nil)
	gen := r.Set([]Site{site("a", true), site("mail", true)})
	waitApplied(t, r, gen)
	conf, _ := os.ReadFile(f.file)
	if !strings.Contains(string(conf), "server_name a.localhost;") || f.reloads.Load() != 1 {
		t.Errorf("after Set: reloads %d, config:\n%s", f.reloads.Load(), conf)
	}
	st := r.Status()
	if st.Generation != gen || len(st.Sites) != 1 || st.Sites[0].RouteAdd <= 0 || st.Sites[0].CertExpires.IsZero() ||
		len(st.Conflicts) != 1 {
		t.Errorf("status after Set: %+v", st)
	}
	f.refuse.Store(true)
	bad := r.Set([]Site{site("a", true), site("b", true)})
	testutil.WaitFor(t, 10*time.Second, "the refused apply in the status", func() bool { return r.Status().Error != "" })
	after, _ := os.ReadFile(f.file)
	if string(after) != string(conf) || r.Status().Generation != gen {
		t.Error("a configuration nginx refused replaced the live one")
	}
	if _, err := os.Stat(f.file + ".next"); !os.IsNotExist(err) {
		t.Errorf("the refused file is left behind: %v", err)
	}
	f.refuse.Store(false)
	good := r.Set([]Site{site("b", true)})
	waitApplied(t, r, good)
	if good <= bad || r.Status().Error != "" || len(r.Status().Sites) != 1 || r.Status().Sites[0].Name != "b" {
		t.Errorf("status after a good apply: %+v", r.Status())
	}
}

// wakeRequest sends what nginx sends the wake endpoint for a site.
func wakeRequest(t *testing.T, r *Router, name string) *http.Response {
	t.Helper()
	return wakeRequestFrom(t, r, name, 0)
}

// wakeRequestFrom is wakeRequest sent by the configuration of generation gen (0: none said).
func wakeRequestFrom(t *testing.T, r *Router, name string, gen uint64) *http.Response {
	t.Helper()
	c := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(r.opt.Dir, WakeSocket))
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+name+".localhost:8443/wp-admin/?x=1", nil)
	req.Header.Set(SiteHeader, name)
	if gen > 0 {
		req.Header.Set(GenerationHeader, strconv.FormatUint(gen, 10))
	}
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestWake: a request for a site the router does not proxy is held while the site wakes,
// then sent back to the same URL once the live configuration proxies it; an unknown site is
// 404, a site that does not come within Hold gets 503 with a page that reloads itself.
func TestWake(t *testing.T) {
	var r *Router
	var mu sync.Mutex
	var woken []string
	wake := func(ctx context.Context, name string) error {
		mu.Lock()
		woken = append(woken, name)
		mu.Unlock()
		if name == "slow" {
			<-ctx.Done()
			return ctx.Err()
		}
		r.Set([]Site{site("a", true), site("slow", false)}) // what the reconciler does once a serves
		return nil
	}
	r, _ = startRouter(t, wake)
	waitApplied(t, r, r.Set([]Site{site("a", false), site("slow", false)}))
	resp := wakeRequest(t, r, "a")
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "https://a.localhost:8443/wp-admin/?x=1" {
		t.Errorf("wake of a: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if s := r.Status().Sites[0]; s.Name != "a" || !s.Serving {
		t.Errorf("after the wake, a is %+v", s)
	}
	if resp := wakeRequest(t, r, "nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown site: %d", resp.StatusCode)
	}
	if resp := wakeRequest(t, r, "slow"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("slow site: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(woken, ",") != "a,slow" {
		t.Errorf("woken %v", woken)
	}
}

// TestWakeAfterItsGeneration: a wake request sent by a configuration that the router has
// not yet replaced is held until a later one is live, even when the site serves in the
// applied state already (the redirect would come back to the wake endpoint: a loop).
func TestWakeAfterItsGeneration(t *testing.T) {
	r, f := startRouter(t, nil)
	gen := r.Set([]Site{site("a", true)})
	waitApplied(t, r, gen)
	answer := make(chan *http.Response, 1)
	go func() { answer <- wakeRequestFrom(t, r, "a", gen) }()
	select {
	case resp := <-answer:
		t.Fatalf("answered %d while generation %d, the sender's, is still the live one", resp.StatusCode, gen)
	case <-time.After(500 * time.Millisecond):
	}
	next := r.Set([]Site{site("a", true)})
	waitApplied(t, r, next)
	select {
	case resp := <-answer:
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("after generation %d: %d, want 307", next, resp.StatusCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer after generation %d (reloads %d)", next, f.reloads.Load())
	}
	if resp := wakeRequestFrom(t, r, "a", gen); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("a request of an older generation: %d, want 307 at once", resp.StatusCode)
	}
}

// TestActivity: nginx's syslog datagrams on the socket give each site's last request;
// anything else is dropped.
func TestActivity(t *testing.T) {
	r, _ := startRouter(t, nil)
	conn, err := net.Dial("unixgram", filepath.Join(r.opt.Dir, ActivitySocket))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := time.Now()
	for _, msg := range []string{"<190>Dec  1 12:00:00 router: site-84", "junk", "<190>Dec  1 12:00:00 router: ../x"} {
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 5*time.Second, "site-84's request recorded", func() bool { return !r.LastRequest("site-84").Before(before) })
	r.activity.mu.Lock()
	n := len(r.activity.last)
	r.activity.mu.Unlock()
	if n != 1 {
		t.Errorf("%d names recorded, want 1", n)
	}
}

func TestSiteOf(t *testing.T) {
	for msg, want := range map[string]string{
		"<190>Dec  1 12:00:00 router: site-84":    "site-84",
		"<190>Dec 11 02:03:04 router: a\n":        "a",
		"<190>Dec  1 12:00:00 router: Bad":        "",
		"Dec  1 12:00:00 router: a":               "",
		"<190>Dec  1 12:00:00 router: ":           "",
		"<190>Dec  1 12:00:00 other: x router: b": "b",
	} {
		if got := siteOf([]byte(msg)); got != want {
			t.Errorf("siteOf(%q) = %q, want %q", msg, got, want)
		}
	}
}

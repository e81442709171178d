package images_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// The end-to-end test and the boot benchmark run the real product: wp-dind from `make
// images`, the instance images as `make save-images` writes them, a wpinit.toml and an
// instances.toml of their own. They are slow (minutes), so each runs only when asked.
const (
	envE2E   = "WPDIND_E2E"   // 1: run TestEndToEnd (make e2e)
	envBench = "WPDIND_BENCH" // 1: run TestBenchBoot (make bench-boot)
	// envShared names the folder of the instance images' tarballs; ../shared-images (where
	// make save-images writes them) by default.
	envShared = "WPDIND_SHARED_IMAGES"
)

// requireEnv skips t unless env is 1.
func requireEnv(t *testing.T, env, target string) {
	t.Helper()
	if os.Getenv(env) != "1" {
		t.Skipf("%s=1 runs it (make %s)", env, target)
	}
}

// site is one instance declared in a test's instances.toml.
type site struct {
	Name, Title, PHP, DB, Web, WebVersion string
	DBFlavor                              string // "" for the default, mariadb
	ID, Port                              int
}

// dbLogDir is the instance folder's log folder of its database version.
func (s site) dbLogDir() string { return filepath.Join(s.Name, "logs", "mariadb-"+s.DB) }

// tomlFor writes instances.toml for sites; empty versions take the file's defaults.
func tomlFor(sites []site) string {
	var b strings.Builder
	b.WriteString("version = 1\n")
	for _, s := range sites {
		fmt.Fprintf(&b, "\n[[instance]]\nname = %q\nid = %d\nport = %d\ntitle = %q\n", s.Name, s.ID, s.Port, s.Title)
		for key, v := range map[string]string{"php": s.PHP, "db": s.DBFlavor, "db_version": s.DB, "web": s.Web, "web_version": s.WebVersion} {
			if v != "" {
				fmt.Fprintf(&b, "%s = %q\n", key, v)
			}
		}
	}
	return b.String()
}

// dind is one wp-dind container under test and the folders it mounts: its own conf/ (the
// repository's, with the test's instances.toml and WordPress's outbound HTTP blocked), the
// instances folder, the shared tarballs, and a named volume for the inner engine.
type dind struct {
	t      *testing.T
	ref    string
	id     string
	conf   string // mounted at /etc/wpinit
	inst   string // mounted at /wordpress-instances
	shared string // mounted at /shared-images
	volume string
	sites  []site
	ports  map[string]string // container port -> 127.0.0.1:PORT, for the current start
}

// newDind prepares the folders and the volume of a wp-dind for sites; start runs it.
func newDind(t *testing.T, sites []site) *dind {
	t.Helper()
	ref := dindImage()
	if ref == "" {
		ref = "wp-dind:latest"
	}
	if _, err := docker("image", "inspect", ref); err != nil {
		t.Fatalf("%s (run make images): %v", ref, err)
	}
	d := &dind{t: t, ref: ref, sites: sites, conf: t.TempDir(), inst: t.TempDir(), shared: t.TempDir()}
	d.writeConf()
	d.linkTarballs()
	t.Cleanup(d.removeInstanceFiles)
	d.volume = newVolume(t)
	return d
}

// writeConf copies the repository's conf/ and sets the test's choices: the instances, and
// WordPress's outbound HTTP blocked (docs/configuration.md, [instances]).
func (d *dind) writeConf() {
	t := d.t
	if err := os.CopyFS(d.conf, os.DirFS("../conf")); err != nil {
		t.Fatalf("copy conf/: %v", err)
	}
	path := filepath.Join(d.conf, "wpinit.toml")
	toml := readFile(t, path)
	if !strings.Contains(toml, "\n[instances]\n") {
		t.Fatalf("%s has no [instances] table", path)
	}
	toml = strings.Replace(toml, "\n[instances]\n", "\n[instances]\nblock_external_http = true\nimage_prefix = \""+testutil.ImagePrefix()+"\"\n", 1)
	for name, content := range map[string]string{"wpinit.toml": toml, "instances.toml": tomlFor(d.sites)} {
		if err := os.WriteFile(filepath.Join(d.conf, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// linkTarballs hard-links the shared tarballs into the test's folder (a copy where a link
// cannot be made), so that the test can add a broken one without touching the originals.
func (d *dind) linkTarballs() {
	t := d.t
	src := os.Getenv(envShared)
	if src == "" {
		src = "../shared-images"
	}
	tars, _ := filepath.Glob(filepath.Join(src, "*.tar"))
	if len(tars) == 0 {
		t.Fatalf("no image tarballs in %s (run make save-images)", src)
	}
	for _, p := range tars {
		dst := filepath.Join(d.shared, filepath.Base(p))
		if err := os.Link(p, dst); err != nil {
			copyFile(t, p, dst, -1)
		}
	}
}

// addTruncated writes name: the first half of the smallest tarball, as a copy cut short by
// a full disk or an interrupted transfer would be.
func (d *dind) addTruncated(name string) {
	t := d.t
	tars, _ := filepath.Glob(filepath.Join(d.shared, "*.tar"))
	var smallest string
	var size int64
	for _, p := range tars {
		if fi, err := os.Stat(p); err == nil && (smallest == "" || fi.Size() < size) {
			smallest, size = p, fi.Size()
		}
	}
	copyFile(t, smallest, filepath.Join(d.shared, name), size/2)
}

// copyFile copies n bytes of src (all when n < 0) to dst.
func copyFile(t *testing.T, src, dst string, n int64) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = in
	if n >= 0 {
		r = io.LimitReader(in, n)
	}
	if _, err := io.Copy(out, r); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// removeInstanceFiles: the instances' files belong to root, www-data (33) and mysql (999);
// a test not run as root removes them as root in a throwaway container first.
func (d *dind) removeInstanceFiles() {
	if os.Geteuid() == 0 {
		return // t.TempDir's own cleanup removes them
	}
	if _, err := docker("run", "--rm", "--label", labelValue(d.t), "-v", d.inst+":/w", "--entrypoint", "find",
		d.ref, "/w", "-mindepth", "1", "-delete"); err != nil {
		d.t.Logf("remove instance files: %v", err)
	}
}

// start runs the container (once; later boots are restart), publishing phpMyAdmin, MailDev
// and every site's port on 127.0.0.1 ports Docker picks; extra adds docker run options.
func (d *dind) start(extra ...string) {
	d.t.Helper()
	opts := append([]string{"-v", d.conf + ":/etc/wpinit:ro", "-v", d.inst + ":/wordpress-instances",
		"-v", d.shared + ":/shared-images:ro"}, extra...)
	for _, s := range d.sites {
		opts = append(opts, "-p", "127.0.0.1::"+strconv.Itoa(s.Port))
	}
	d.id = startDind(d.t, d.ref, d.volume, opts...)
	d.readPorts()
}

// restart is docker start of the stopped container; Docker picks new host ports.
func (d *dind) restart() {
	d.t.Helper()
	mustDocker(d.t, "start", d.id)
	d.readPorts()
}

// readPorts notes the host ports of this start, so that polls ask no docker port.
func (d *dind) readPorts() {
	d.t.Helper()
	d.ports = map[string]string{}
	for _, p := range []string{"8080", "1080"} {
		d.ports[p] = published(d.t, d.id, p)
	}
	for _, s := range d.sites {
		p := strconv.Itoa(s.Port)
		d.ports[p] = published(d.t, d.id, p)
	}
}

// url is http://127.0.0.1:HOSTPORT of a container port.
func (d *dind) url(port string) string {
	d.t.Helper()
	addr, ok := d.ports[port]
	if !ok {
		d.t.Fatalf("port %s is not published", port)
	}
	return "http://" + addr
}

// status is `ctl status --json` inside the container.
func (d *dind) status() (*ctl.Status, error) {
	out, err := docker("exec", d.id, "ctl", "status", "--json")
	if err != nil {
		return nil, err
	}
	var st ctl.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("decode ctl status: %w", err)
	}
	return &st, nil
}

// waitStatus polls the status until check passes and returns it with the time waited. On
// timeout the test fails with check's last complaint and the status table.
func (d *dind) waitStatus(what string, timeout time.Duration, check func(*ctl.Status) error) (*ctl.Status, time.Duration) {
	d.t.Helper()
	start := time.Now()
	var st *ctl.Status
	var last error
	var stopped string // the container's state when it is not running any more
	err := testutil.PollEvery(timeout, pollDocker, func() bool {
		if st, last = d.status(); last == nil {
			if last = check(st); last == nil {
				return true
			}
		}
		if state, _ := docker("inspect", "-f", "{{.State.Status}}", d.id); state != "running" {
			stopped = state
		}
		return stopped != ""
	})
	switch {
	case stopped != "":
		d.t.Fatalf("%s: the container is %s (%v)", what, stopped, last)
	case err != nil:
		table, _ := docker("exec", d.id, "ctl", "status")
		d.t.Fatalf("%s: not within %s: %v\n%s", what, timeout, last, table)
	}
	return st, time.Since(start)
}

// servicesReady: every service RUNNING and ready, and the four of wp-dind among them.
func servicesReady(st *ctl.Status) error {
	seen := map[string]bool{}
	for _, s := range st.Services {
		if s.State != "RUNNING" || !s.Ready {
			return fmt.Errorf("service %s is %s, ready %t", s.Name, s.State, s.Ready)
		}
		seen[s.Name] = true
	}
	for _, name := range []string{"dockerd", "php-fpm", "nginx", "maildev"} {
		if !seen[name] {
			return fmt.Errorf("no service %s in %v", name, st.Services)
		}
	}
	return nil
}

// instancesUp: the reconciler's first pass is done and n instances are running and healthy.
func instancesUp(n int) func(*ctl.Status) error {
	return func(st *ctl.Status) error {
		in := st.Instances
		switch {
		case in == nil || !in.Ready:
			return errors.New("the reconciler has not finished its first pass")
		case len(in.Instances) != n:
			return fmt.Errorf("%d instances in status, want %d", len(in.Instances), n)
		}
		for _, i := range in.Instances {
			if i.State != ctl.InstanceRunning || i.Health != "healthy" {
				return fmt.Errorf("instance %s is %s and %s (%s)", i.Name, i.State, i.Health, i.LastError)
			}
		}
		return nil
	}
}

// imagesDone: the loader's pass is over.
func imagesDone(st *ctl.Status) error {
	if st.Images == nil || !st.Images.Done {
		return errors.New("image tarballs not settled yet")
	}
	return nil
}

// all passes when every check passes.
func all(checks ...func(*ctl.Status) error) func(*ctl.Status) error {
	return func(st *ctl.Status) error {
		for _, c := range checks {
			if err := c(st); err != nil {
				return err
			}
		}
		return nil
	}
}

// tarball finds a tarball in the loader's status.
func tarball(st *ctl.Status, name string) (ctl.TarballStatus, bool) {
	if st.Images != nil {
		for _, tb := range st.Images.Tarballs {
			if tb.Name == name {
				return tb, true
			}
		}
	}
	return ctl.TarballStatus{}, false
}

// service finds a service in the status.
func service(st *ctl.Status, name string) ctl.ServiceStatus {
	for _, s := range st.Services {
		if s.Name == name {
			return s
		}
	}
	return ctl.ServiceStatus{}
}

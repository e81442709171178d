package reconciler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestMain lets the test binary play a reconciler that a test kills (helperRestore).
func TestMain(m *testing.M) {
	testutil.Main(m, map[string]func(){"snapshot-restore": helperRestore})
}

// TestDataIntegration (issue 14), on the real engine and images, one instance through the
// data commands in turn: a post deleted after a snapshot is back after its restore; a
// snapshot of another server is refused; a restore whose process is killed halfway leaves
// the site serving what it held before; a dump exported with https://example.com in it
// (serialized, nested serialized and JSON options) and imported with --replace-url serves
// with the local URL; a clone serves its own URL with its own passwords and salts, and its
// posts stay its own; `from` changed later changes nothing and the status says so.
func TestDataIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 2, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	src := itInstance{name: w.instance("src"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 221, port: w.ports[0]}
	writeFileAtomic(t, w.file, itFile(src))
	r, stop := runReconciler(t, w.eng, w.opt)
	waitRunning(t, r, src.name)
	ctx, top := context.Background(), t

	kept := wpPHP(t, src.name, `echo wp_insert_post(["post_title"=>"kept by the snapshot","post_status"=>"publish"]);`)
	t.Run("a post deleted after a snapshot is back after its restore", func(t *testing.T) {
		snap, err := r.Snapshot(ctx, src.name, "s1")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("snapshot: %s, %d bytes, in %s", snap.Snapshot.Method, snap.Snapshot.Bytes, snap.Duration)
		wpPHP(t, src.name, `wp_delete_post(`+kept+`, true);`)
		if got := postTitleSQL(t, src.name, kept); got != "" {
			t.Fatalf("post after its deletion: %q", got)
		}
		res, err := r.SnapshotRestore(ctx, src.name, "s1")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("snapshot restore in %s", res.Duration)
		if got := postTitleSQL(t, src.name, kept); got != "kept by the snapshot" {
			t.Errorf("post after the restore: %q", got)
		}
		if err := pageHas(t, src.port, "/?p="+kept, "kept by the snapshot"); err != nil {
			t.Errorf("post after the restore (HTTP): %v", err)
		}
		if list, _ := instance.ListArchived(w.root, src.name); len(list) != 0 {
			t.Errorf("set-aside folders left after a restore that serves: %+v", list)
		}
	})

	t.Run("a snapshot of another database server is refused", func(t *testing.T) {
		l := instance.Layout{Root: w.root, Name: src.name}
		fake := instance.Snapshot{Layout: l, Label: "other"}
		copyDirT(t, instance.Snapshot{Layout: l, Label: "s1"}.Dir(), fake.Dir())
		copyDirT(t, instance.Snapshot{Layout: l, Label: "s1"}.DBDir(), fake.DBDir())
		m := readJSONT[instance.SnapshotManifest](t, filepath.Join(fake.Dir(), instance.SnapshotManifestName))
		m.Label, m.DB, m.DBVersion = "other", "mariadb 10.11", "10.11.19"
		writeJSONT(t, filepath.Join(fake.Dir(), instance.SnapshotManifestName), m)
		before := containerStarts(t, src.name)
		_, err := r.SnapshotRestore(ctx, src.name, "other")
		if !errors.Is(err, ErrSnapshotVersion) {
			t.Fatalf("restore of a 10.11 snapshot into 11.8: %v", err)
		}
		t.Logf("refused: %v", err)
		untouched(t, src.name, src.port, before)
		if err := r.SnapshotRemove(ctx, src.name, "other"); err != nil {
			t.Error(err)
		}
	})

	after := wpPHP(t, src.name, `echo wp_insert_post(["post_title"=>"written after the snapshot","post_status"=>"publish"]);`)
	t.Run("a restore killed halfway leaves the site as it was", func(t *testing.T) {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		killRestoreHalfway(t, w, src.name, "s1")
		r, stop = runReconciler(top, w.eng, w.opt) // the test's, not this subtest's: it goes on
		waitRunning(t, r, src.name)
		if got := postTitleSQL(t, src.name, after); got != "written after the snapshot" {
			t.Errorf("post written before the killed restore: %q", got)
		}
		if err := pageHas(t, src.port, "/?p="+after, "written after the snapshot"); err != nil {
			t.Errorf("post written before the killed restore (HTTP): %v", err)
		}
		if instance.Restoring(instance.Layout{Root: w.root, Name: src.name}) {
			t.Error("restore mark left")
		}
	})

	t.Run("an imported dump with --replace-url serves with the local URL", func(t *testing.T) {
		testReplaceURL(t, r, src)
	})

	clone := itInstance{name: w.instance("cl"), php: "8.2", dbVersion: "11.8", web: "1.26", id: 222, port: w.ports[1]}
	t.Run("a clone has its own URL, passwords, salts and posts", func(t *testing.T) {
		began := time.Now()
		writeFileAtomic(t, w.file, itFile(src)+clone.toml()+"from = \""+src.name+"\"\n")
		r.Trigger("test: clone")
		testutil.WaitFor(t, 5*time.Minute, clone.name+" running", func() bool { return r.instanceState(clone.name).State == StateRunning })
		t.Logf("clone serving after %s", time.Since(began).Round(time.Millisecond))
		checkClone(t, w, src, clone)
		sl := instance.Layout{Root: w.root, Name: src.name}
		if snaps, _ := instance.ListSnapshots(sl); len(snaps) != 1 {
			t.Errorf("snapshots of the source after the clone: %d, want 1 (the clone's own is removed)", len(snaps))
		}
		// The fresh snapshot's folders moved into the clone; nothing of it is left behind.
		for _, dir := range []string{sl.SnapshotsDir(), sl.SnapshotDBDir()} {
			if left, _ := filepath.Glob(filepath.Join(dir, "*clone-*")); len(left) != 0 {
				t.Errorf("left of the clone's snapshot: %v", left)
			}
		}
	})

	t.Run("from changed later changes nothing, and the status says so", func(t *testing.T) {
		php := containerID(clone.name + "-php")
		writeFileAtomic(t, w.file, itFile(src)+clone.toml()+"from = \""+src.name+"@s1\"\n")
		passAfter(t, r, time.Minute)
		d, err := r.Detail(clone.name, false)
		if err != nil {
			t.Fatal(err)
		}
		if d.Data == nil || !strings.Contains(d.Data.FromNote, "applies only when an instance is created") {
			t.Errorf("status of the clone: %+v", d.Data)
		}
		if containerID(clone.name+"-php") != php {
			t.Error("a changed from recreated the clone")
		}
	})
}

// testReplaceURL gives the instance options holding https://example.com (plain, serialized,
// serialized inside serialized, JSON), exports its database (gzip), imports it back with
// --replace-url https://example.com, and checks every value now holds the local URL.
func testReplaceURL(t *testing.T, r *Reconciler, in itInstance) {
	ctx := context.Background()
	wpPHP(t, in.name, `update_option("siteurl", "https://example.com"); update_option("home", "https://example.com");
		update_option("wpd_ser", ["url" => "https://example.com/shop", "n" => 3, "inner" => serialize(["deep" => "https://example.com/deep"])]);
		update_option("wpd_json", json_encode(["link" => "https://example.com/j", "list" => ["https://example.com/k"]]));`)
	var dump bytes.Buffer
	zw := gzip.NewWriter(&dump)
	n, err := r.DBExport(ctx, in.name, zw)
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %d bytes of SQL, %d gzipped", n, dump.Len())
	// The site still serves (urls.php answers a known host with the request's URL), so what
	// shows the import's work is the database: its home is the dump's before the import.
	if got := wpPHP(t, in.name, `echo get_option("home");`); got != "https://example.com" {
		t.Fatalf("home before the import is %q, not the dump's https://example.com: the test proves nothing", got)
	}
	res, err := r.DBImport(ctx, in.name, &dump, "https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d bytes (gzip %v) in %s; replaced %+v", res.Bytes, res.Gzip, res.Duration, res.Replaced)
	if !res.Gzip || res.Bytes != n {
		t.Errorf("import read %d bytes (gzip %v), the export wrote %d", res.Bytes, res.Gzip, n)
	}
	if err := serves(t, in.port); err != nil {
		t.Errorf("site after the import: %v", err)
	}
	url := "http://localhost:" + strconv.Itoa(in.port)
	got := wpPHP(t, in.name, `$s = get_option("wpd_ser"); $i = unserialize($s["inner"], ["allowed_classes" => false]); $j = json_decode(get_option("wpd_json"), true);
		echo json_encode([get_option("home"), $s["url"], $s["n"], $i["deep"], $j["link"], $j["list"][0]]);`)
	want := `["` + url + `","` + url + `/shop",3,"` + url + `/deep","` + url + `/j","` + url + `/k"]`
	if strings.ReplaceAll(got, `\/`, `/`) != want {
		t.Errorf("values after --replace-url:\n got %s\nwant %s", got, want)
	}
}

// checkClone checks the clone against its source: own URL, passwords, salts, posts.
func checkClone(t *testing.T, w *engineWorld, src, clone itInstance) {
	if err := serves(t, clone.port); err != nil {
		t.Errorf("clone's site: %v", err)
	}
	if err := serves(t, src.port); err != nil {
		t.Errorf("source's site after the clone: %v", err)
	}
	if got := wpPHP(t, clone.name, `echo get_option("home");`); got != "http://localhost:"+strconv.Itoa(clone.port) {
		t.Errorf("clone's home: %q", got)
	}
	if got := wpPHP(t, clone.name, `echo get_option("wpd_ser")["url"];`); got != "http://localhost:"+strconv.Itoa(clone.port)+"/shop" {
		t.Errorf("clone's serialized option: %q", got)
	}
	ls, lc := instance.Layout{Root: w.root, Name: src.name}, instance.Layout{Root: w.root, Name: clone.name}
	ss, err1 := instance.ReadSecrets(ls)
	cs, err2 := instance.ReadSecrets(lc)
	if err1 != nil || err2 != nil || ss.DBPassword == cs.DBPassword || ss.DBRootPassword == cs.DBRootPassword || ss.AdminPassword == cs.AdminPassword {
		t.Error("the clone shares a password with its source")
	}
	if a, b := salts(t, ls), salts(t, lc); a == "" || a == b {
		t.Errorf("salts: source %q, clone %q", a, b)
	}
	if got := wpPHP(t, clone.name, `echo is_wp_error(wp_authenticate("admin", "`+cs.AdminPassword+`")) ? "refused" : "ok";`); got != "ok" {
		t.Errorf("the clone's admin password: %s", got)
	}
	post := wpPHP(t, clone.name, `echo wp_insert_post(["post_title"=>"only in the clone","post_status"=>"publish"]);`)
	if got := postTitleSQL(t, clone.name, post); got != "only in the clone" {
		t.Errorf("post in the clone: %q", got)
	}
	if got := wpPHP(t, src.name, `echo count(get_posts(["title"=>"only in the clone","post_status"=>"any"]));`); got != "0" {
		t.Errorf("posts of the clone in the source: %s", got)
	}
}

var saltRE = regexp.MustCompile(`define\('AUTH_KEY', '([^']+)'\)`)

func salts(t *testing.T, l instance.Layout) string {
	m := saltRE.FindStringSubmatch(readFile(t, filepath.Join(l.WordPressDir(), "wp-config.php")))
	if m == nil {
		return ""
	}
	return m[1]
}

// helperConfig is what the helper process needs to run the test's reconciler.
type helperConfig struct {
	File, Root, Owner, Prefix, Name, Label string
	Ports                                  config.PortRange
	Network                                instance.Addressing
}

const helperConfigEnv = "WPDIND_TEST_RESTORE"

// killRestoreHalfway runs a snapshot restore in a helper process playing the reconciler and
// kills it (SIGKILL) once it has swapped the instance's folders, while the instance comes up
// on them.
func killRestoreHalfway(t *testing.T, w *engineWorld, name, label string) {
	t.Helper()
	hc := helperConfig{File: w.file, Root: w.root, Owner: w.opt.Owner, Prefix: w.opt.Images.Prefix, Name: name, Label: label,
		Ports: w.opt.Ports, Network: w.opt.Network}
	data, _ := json.Marshal(hc)
	cmd := testutil.HelperCommand(t, "snapshot-restore", helperConfigEnv+"="+string(data))
	cmd.Stderr, cmd.Stdout = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	l := instance.Layout{Root: w.root, Name: name}
	swapped := func() bool {
		asides, _ := filepath.Glob(filepath.Join(w.root, instance.ArchiveDir, name+"-*", "data", "mysql"))
		return instance.Restoring(l) && len(asides) > 0
	}
	deadline := time.Now().Add(3 * time.Minute)
	for !swapped() {
		select {
		case err := <-exited:
			t.Fatalf("the restore ended before it swapped the folders: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the restore did not swap the folders in 3 minutes")
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	t.Logf("killed the restore after the swap (restore mark there: %v)", instance.Restoring(l))
}

// helperRestore is the helper: a reconciler over the test's world that restores a snapshot.
func helperRestore() {
	var hc helperConfig
	if err := json.Unmarshal([]byte(os.Getenv(helperConfigEnv)), &hc); err != nil {
		panic(err)
	}
	c := config.DefaultInstances()
	c.File, c.Root, c.BindAddress, c.PoolNetworks, c.StopOnExit = hc.File, hc.Root, "127.0.0.1", 0, false
	o := OptionsOf(&c)
	o.Logger = hclog.New(&hclog.LoggerOptions{Name: "helper", Output: os.Stderr})
	o.Owner, o.BlockExternalHTTP, o.Ports, o.Network = hc.Owner, true, hc.Ports, hc.Network
	o.Images = instance.Images{Prefix: hc.Prefix}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	eng, err := docker.Connect(ctx, "")
	cancel()
	if err != nil {
		panic(err)
	}
	r, err := New(eng, o)
	if err != nil {
		panic(err)
	}
	go func() { _ = r.Run(context.Background()) }()
	<-r.Ready()
	if _, err := r.SnapshotRestore(context.Background(), hc.Name, hc.Label); err != nil {
		panic(err)
	}
	os.Exit(0) // not killed: the parent fails on it
}

func copyDirT(t *testing.T, src, dst string) {
	t.Helper()
	if err := instance.CopyTree(src, dst, instance.TreeRules{Links: true}); err != nil {
		t.Fatal(err)
	}
}

func readJSONT[T any](t *testing.T, path string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(readFile(t, path)), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func writeJSONT(t *testing.T, path string, v any) {
	t.Helper()
	data, _ := json.Marshal(v)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

package reconciler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestSiteTemplatesIntegration (make templates-test): site templates on the real engine. The
// first site of a kind installs itself and a template is taken of it, holding none of its
// secrets; two later sites of that kind start from it, each with its own database
// passwords, admin password hash, salts and keys, URL, title and admin (one renamed), and
// each admin logs in with its own password and not with the other's; a template made for
// other images (another WordPress core) is not used: the site installs itself, and the new
// template replaces the old one.
func TestSiteTemplatesIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 4, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	w.opt.SiteTemplates = true
	var logged testutil.SyncBuffer
	w.opt.Logger = testLogger(t, &logged)
	mk := func(short string, id, port int) itInstance {
		return itInstance{name: w.instance(short), php: "8.4", dbVersion: "11.8", web: "1.26", id: id, port: port}
	}
	a, b, c, e := mk("a", 241, w.ports[0]), mk("b", 242, w.ports[1]), mk("c", 243, w.ports[2]), mk("e", 244, w.ports[3])
	file := func(ins ...itInstance) string {
		s := itFile(ins...)
		return strings.Replace(s, "name = \""+c.name+"\"\n", "name = \""+c.name+"\"\nadmin_user = \"chief\"\ntitle = \"Chief site\"\n", 1)
	}
	writeFileAtomic(t, w.file, file(a))
	r := startReconciler(t, w.eng, w.opt)
	began := time.Now()
	waitServing(t, r, 5*time.Minute, a)
	t.Logf("first site (full install) serving after %s", time.Since(began).Round(time.Millisecond))
	tpl := waitTemplate(t, w.root, "")
	checkTemplate(t, w, a, tpl)

	began = time.Now()
	writeFileAtomic(t, w.file, file(a, b, c))
	r.Trigger("test: two sites from the template")
	waitServing(t, r, 5*time.Minute, b, c)
	t.Logf("two sites from the template serving after %s", time.Since(began).Round(time.Millisecond))
	for _, in := range []itInstance{b, c} {
		if seeded := readInfo(t, w, in).Seeded; seeded != "template "+tpl.Key {
			t.Errorf("%s seeded from %q, want the template %s", in.name, seeded, tpl.Key)
		}
	}
	checkTwins(t, w, b, c)
	checkPrecompiled(t, w, &logged, tpl, b, c)

	// A template of other images: the same versions' kind, another key.
	ids := "000000000000_000000000000" // the two image IDs of a key
	other := instance.Template{Root: w.root, Key: tpl.Key[:len(tpl.Key)-len(ids)] + ids}
	if err := os.Rename(filepath.Join(w.root, instance.TemplatesDir, tpl.Key), filepath.Join(w.root, instance.TemplatesDir, other.Key)); err != nil {
		t.Fatal(err)
	}
	rewriteTemplateKey(t, other)
	writeFileAtomic(t, w.file, file(a, b, c, e))
	r.Trigger("test: a site whose images have no template")
	waitServing(t, r, 5*time.Minute, e)
	if seeded := readInfo(t, w, e).Seeded; seeded != "" {
		t.Errorf("%s seeded from %q: a template of other images was used", e.name, seeded)
	}
	if again := waitTemplate(t, w.root, tpl.Key); again.Key != tpl.Key {
		t.Errorf("template remade as %s, want %s", again.Key, tpl.Key)
	}
	testutil.WaitFor(t, time.Minute, "the other images' template removed", func() bool {
		_, err := os.Stat(filepath.Join(w.root, instance.TemplatesDir, other.Key))
		return os.IsNotExist(err)
	})
}

// waitServing waits until every one of ins runs and serves.
func waitServing(t *testing.T, r *Reconciler, timeout time.Duration, ins ...itInstance) {
	t.Helper()
	for _, in := range ins {
		testutil.WaitFor(t, timeout, in.name+" running", func() bool { return r.instanceState(in.name).State == StateRunning })
		if err := serves(t, in.port); err != nil {
			t.Errorf("%s: %v", in.name, err)
		}
	}
}

// waitTemplate waits for a template (key's, or any when key is "") and returns it.
func waitTemplate(t *testing.T, root, key string) instance.Template {
	t.Helper()
	var found instance.Template
	testutil.WaitFor(t, 3*time.Minute, "a site template", func() bool {
		entries, _ := os.ReadDir(filepath.Join(root, instance.TemplatesDir))
		for _, e := range entries {
			tp := instance.Template{Root: root, Key: e.Name()}
			if _, err := instance.ReadTemplate(tp); err == nil && (key == "" || key == e.Name()) {
				found = tp
				return true
			}
		}
		return false
	})
	return found
}

// checkPrecompiled: the template recorded the core scripts of its site's front page; each
// site made from it had all of them compiled into its opcache before its first request
// (its log line); opcache-warm.php compiles only core scripts, whatever it is sent.
func checkPrecompiled(t *testing.T, w *engineWorld, logged *testutil.SyncBuffer, tpl instance.Template, ins ...itInstance) {
	t.Helper()
	info, err := instance.ReadTemplate(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Scripts) < 100 || !slices.ContainsFunc(info.Scripts, func(s string) bool { return strings.HasSuffix(s, "/wp-includes/load.php") }) {
		t.Fatalf("the template recorded %d opcache scripts: %.300q", len(info.Scripts), info.Scripts)
	}
	for _, s := range info.Scripts {
		if !coreScript(s) {
			t.Errorf("the template recorded %q", s)
		}
	}
	t.Logf("the template recorded %d core scripts", len(info.Scripts))
	for _, in := range ins {
		re := regexp.MustCompile(`site from template serves: instance=` + regexp.QuoteMeta(in.name) + ` .*precompiled=(\d+) of=(\d+) precompile=(\S+)`)
		m := re.FindStringSubmatch(logged.String())
		if m == nil {
			t.Errorf("%s: no precompile in its log line", in.name)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n != len(info.Scripts) || m[2] != m[1] {
			t.Errorf("%s: precompiled %s of %s, want all %d", in.name, m[1], m[2], len(info.Scripts))
		}
		t.Logf("%s: precompiled %s scripts in %s", in.name, m[1], m[3])
	}
	// Sent to a site's PHP-FPM: what is not core is refused, core already cached is skipped.
	in := ins[0]
	body := strings.Join(append([]string{"/etc/passwd", instance.DocRoot + "/wp-config.php", instance.DocRoot + "/wp-includes/../wp-config.php",
		instance.DocRoot + "/wp-includes/no-such-file.php"}, info.Scripts...), "\n")
	out := dockerOut(t, "exec", "-e", "SCRIPT_FILENAME="+opcacheScript, "-e", "DOCUMENT_ROOT="+instance.DocRoot, "-e", "REQUEST_METHOD=POST",
		"-e", "CONTENT_LENGTH="+strconv.Itoa(len(body)), "-i", in.name+"-php", "sh", "-c", "printf %s \"$1\" | cgi-fcgi -bind -connect 127.0.0.1:9000", "sh", body)
	want := fmt.Sprintf("wp-dind-opcache compiled 0 of %d", len(info.Scripts)+4)
	if !strings.Contains(out, want) || strings.Count(out, "not core: ") != 4 {
		t.Errorf("opcache-warm.php on %s: %q, want %q and 4 not core", in.name, out, want)
	}
}

// checkTemplate: the template has its own database passwords and no wp-config.php.
func checkTemplate(t *testing.T, w *engineWorld, src itInstance, tpl instance.Template) {
	t.Helper()
	own, err := instance.TemplateSecrets(tpl)
	ss, err2 := instance.ReadSecrets(instance.Layout{Root: w.root, Name: src.name})
	if err != nil || err2 != nil || own.DBRootPassword == ss.DBRootPassword || own.DBPassword == ss.DBPassword || own.AdminPassword == ss.AdminPassword {
		t.Errorf("the template shares a secret with the site it was taken from (%v, %v)", err, err2)
	}
	if _, err := os.Stat(filepath.Join(tpl.Snapshot().Dir(), "data", "wordpress", "wp-config.php")); !os.IsNotExist(err) {
		t.Errorf("the template has a wp-config.php (salts): %v", err)
	}
	if snaps, _ := instance.ListSnapshots(instance.Layout{Root: w.root, Name: src.name}); len(snaps) != 0 {
		t.Errorf("snapshots left in %s: %d", src.name, len(snaps))
	}
}

var keysRE = regexp.MustCompile(`define\('[A-Z_]+_(KEY|SALT)', '[^']+'\);`)

// checkTwins: two sites of one template share no secret, and each admin logs in with its own
// password only.
func checkTwins(t *testing.T, w *engineWorld, b, c itInstance) {
	t.Helper()
	lb, lc := instance.Layout{Root: w.root, Name: b.name}, instance.Layout{Root: w.root, Name: c.name}
	sb, err1 := instance.ReadSecrets(lb)
	sc, err2 := instance.ReadSecrets(lc)
	if err1 != nil || err2 != nil || sb.DBPassword == sc.DBPassword || sb.DBRootPassword == sc.DBRootPassword || sb.AdminPassword == sc.AdminPassword {
		t.Fatal("two sites of one template share a password")
	}
	kb := keysRE.FindAllString(readFile(t, filepath.Join(lb.WordPressDir(), "wp-config.php")), -1)
	kc := keysRE.FindAllString(readFile(t, filepath.Join(lc.WordPressDir(), "wp-config.php")), -1)
	if len(kb) != 8 || len(kc) != 8 {
		t.Errorf("salts and keys: %d and %d, want 8 each", len(kb), len(kc))
	}
	for i := range min(len(kb), len(kc)) {
		if kb[i] == kc[i] {
			t.Errorf("both sites have %s", kb[i][:strings.Index(kb[i], ",")])
		}
	}
	hb := wpPHP(t, b.name, `echo get_user_by("login", "admin")->user_pass;`)
	hc := wpPHP(t, c.name, `echo get_user_by("login", "chief")->user_pass;`)
	if hb == "" || hb == hc {
		t.Errorf("admin password hashes: %q and %q", hb, hc)
	}
	login := func(in itInstance, user, pw string) string {
		return wpPHP(t, in.name, `echo is_wp_error(wp_authenticate("`+user+`", "`+pw+`")) ? "refused" : "ok";`)
	}
	for _, c := range []struct {
		in        itInstance
		user, pw  string
		want, why string
	}{
		{b, "admin", sb.AdminPassword, "ok", "its own password"},
		{b, "admin", sc.AdminPassword, "refused", "the other site's password"},
		{c, "chief", sc.AdminPassword, "ok", "its own password"},
		{c, "chief", sb.AdminPassword, "refused", "the other site's password"},
	} {
		if got := login(c.in, c.user, c.pw); got != c.want {
			t.Errorf("%s's %s with %s: %s, want %s", c.in.name, c.user, c.why, got, c.want)
		}
	}
	if got := wpPHP(t, c.name, `echo get_user_by("login", "admin") ? "yes" : "no";`); got != "no" {
		t.Errorf("the template's admin is still in %s: %s", c.name, got)
	}
	for _, in := range []itInstance{b, c} {
		if got := wpPHP(t, in.name, `echo get_option("home");`); got != "http://localhost:"+strconv.Itoa(in.port) {
			t.Errorf("%s's home: %q", in.name, got)
		}
	}
	if got := wpPHP(t, c.name, `echo get_option("blogname"), "|", get_option("admin_email");`); got != "Chief site|it@example.com" {
		t.Errorf("%s's title and admin e-mail: %q", c.name, got)
	}
}

func readInfo(t *testing.T, w *engineWorld, in itInstance) *instance.Info {
	t.Helper()
	info, err := instance.ReadInfo(instance.Layout{Root: w.root, Name: in.name})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// rewriteTemplateKey makes the moved template's description agree with its new key.
func rewriteTemplateKey(t *testing.T, tp instance.Template) {
	t.Helper()
	path := filepath.Join(tp.Root, instance.TemplatesDir, tp.Key, "template.json")
	var m map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &m); err != nil {
		t.Fatal(err)
	}
	m["key"] = tp.Key
	data, _ := json.Marshal(m)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

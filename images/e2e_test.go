package images_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// truncatedTar is the broken tarball the first boot must skip with an error.
const truncatedTar = "wp-truncated.tar"

// e2eSites are two instances on different PHP, MariaDB and web servers.
var e2eSites = []site{
	{Name: "legacy", ID: 1, Port: 8001, Title: "Legacy on PHP 74", PHP: "7.4", DB: "10.5", Web: "nginx", WebVersion: "1.18"},
	{Name: "modern", ID: 2, Port: 8002, Title: "Modern on PHP 84", PHP: "8.4", DB: "11.8", Web: "apache", WebVersion: "2.4"},
}

// TestEndToEnd runs the product as a user does: wp-dind with its own instances.toml of two
// instances and the shared image tarballs (one of them truncated), then checks what the
// product promises, in one container: services and instances up, the sites, phpMyAdmin, mail,
// a backup and restore, recovery from SIGKILL of each service, then a clean stop and a
// second boot on the same volume (nothing loaded again, the data kept, no crash recovery).
// Every wait is bounded; each phase's time is logged. make e2e runs it (WPDIND_E2E=1).
func TestEndToEnd(t *testing.T) {
	requireEnv(t, envE2E, "e2e")
	e := &e2e{t: t, d: newDind(t, e2eSites)}
	e.d.addTruncated(truncatedTar)
	begin := time.Now()
	e.phase("first boot", e.firstBoot)
	e.phase("sites and phpMyAdmin", e.pages)
	e.phase("mail", e.mail)
	e.phase("post before stop", e.postBeforeStop)
	e.phase("backup and restore", e.backupRestore)
	for _, name := range []string{"php-fpm", "nginx", "maildev", "dockerd"} {
		e.phase("kill -9 "+name, func() { e.kill(name) })
	}
	e.phase("docker stop", e.stop)
	e.phase("second boot", e.secondBoot)
	var b strings.Builder
	for _, p := range e.phases {
		fmt.Fprintf(&b, "\n  %-22s %6.1f s", p.name, p.took.Seconds())
	}
	t.Logf("end to end in %.1f s:%s", time.Since(begin).Seconds(), b.String())
}

// e2e is the state the phases share.
type e2e struct {
	t      *testing.T
	d      *dind
	phases []struct {
		name string
		took time.Duration
	}
	kept     int            // the post written before docker stop
	logSizes map[string]int // each database log's size at the stop
}

// phase runs one step and records its time; a failed phase ends the test (t.Fatal inside).
func (e *e2e) phase(name string, run func()) {
	e.t.Helper()
	start := time.Now()
	run()
	took := time.Since(start)
	e.phases = append(e.phases, struct {
		name string
		took time.Duration
	}{name, took})
	e.t.Logf("phase %q done in %.1f s", name, took.Seconds())
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// firstBoot: docker run, then every service running and ready, the tarballs settled (the
// truncated one failed, shown in the status with its error, the others loaded) and both
// instances running and healthy.
func (e *e2e) firstBoot() {
	t, d := e.t, e.d
	start := time.Now()
	d.start()
	d.waitStatus("services ready", 3*time.Minute, servicesReady)
	t.Logf("services ready %.1f s after docker run", time.Since(start).Seconds())
	st, _ := d.waitStatus("instances up", 8*time.Minute, all(servicesReady, imagesDone, instancesUp(len(e2eSites))))
	t.Logf("both instances running and healthy %.1f s after docker run (images loaded in %.1f s)",
		time.Since(start).Seconds(), st.Images.Duration.Seconds())
	for _, tb := range st.Images.Tarballs {
		switch {
		case tb.Name == truncatedTar && (tb.State != ctl.TarballFailed || tb.Error == ""):
			t.Errorf("%s: %s %q, want failed with an error", tb.Name, tb.State, tb.Error)
		case tb.Name != truncatedTar && tb.State != ctl.TarballLoaded:
			t.Errorf("%s: %s (%s), want loaded", tb.Name, tb.State, tb.Error)
		}
	}
	if _, ok := tarball(st, truncatedTar); !ok {
		t.Errorf("%s not in the loader's status", truncatedTar)
	}
	table := mustDocker(t, "exec", d.id, "ctl", "status")
	if !strings.Contains(table, truncatedTar+": failed: ") {
		t.Errorf("ctl status does not show the truncated tarball's error:\n%s", table)
	}
	t.Logf("ctl status:\n%s", table)
}

// pages: each site serves its WordPress at its published port with outbound HTTP blocked,
// and phpMyAdmin logs into each instance's database with that instance's credentials
// (refusing a wrong password).
func (e *e2e) pages() {
	t, d := e.t, e.d
	if _, err := d.waitSites(e2eSites, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, s := range e2eSites {
		if out, err := d.php(s, `echo defined("WP_HTTP_BLOCK_EXTERNAL") && WP_HTTP_BLOCK_EXTERNAL ? "blocked" : "open";`); err != nil || out != "blocked" {
			t.Errorf("%s: outbound HTTP %q (%v), want blocked", s.Name, out, err)
		}
	}
	legacy, modern := e.secrets("legacy"), e.secrets("modern")
	if _, err := d.pmaLogin("legacy", legacy.DBUser, legacy.DBPassword+"x"); err == nil {
		t.Error("phpMyAdmin accepted a wrong password")
	}
	for _, login := range []struct{ server, user, password string }{
		{"legacy", legacy.DBUser, legacy.DBPassword},
		{"modern", "root", modern.DBRootPassword},
	} {
		page, err := d.pmaLogin(login.server, login.user, login.password)
		if err != nil {
			t.Errorf("phpMyAdmin login to %s as %s: %v", login.server, login.user, err)
		} else if !strings.Contains(page, `data-filter-row="WORDPRESS"`) {
			t.Errorf("phpMyAdmin (%s as %s): no wordpress database in the databases page", login.server, login.user)
		}
	}
}

// secrets is `ctl status NAME --show-secrets --json`'s credentials.
func (e *e2e) secrets(name string) ctl.Secrets {
	e.t.Helper()
	var detail ctl.InstanceDetail
	out := mustDocker(e.t, "exec", e.d.id, "ctl", "status", name, "--show-secrets", "--json")
	if err := json.Unmarshal([]byte(out), &detail); err != nil || detail.Secrets == nil || detail.Secrets.DBPassword == "" {
		e.t.Fatalf("ctl status %s --show-secrets: %v %.200q", name, err, out)
	}
	return *detail.Secrets
}

// mail: WordPress's lost-password form on each site sends a mail that MailDev catches.
func (e *e2e) mail() {
	t, d := e.t, e.d
	for _, s := range e2eSites {
		if err := d.lostPassword(s); err != nil {
			t.Error(err)
			continue
		}
		subject := "[" + s.Title + "] Password Reset"
		m, err := d.waitMail(subject, 30*time.Second)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(m.To) != 1 || m.To[0].Address != "admin@example.com" {
			t.Errorf("%q went to %+v, want admin@example.com", subject, m.To)
		}
		t.Logf("MailDev caught %q from %+v", m.Subject, m.From)
	}
}

// postBeforeStop writes the post the second boot must find.
func (e *e2e) postBeforeStop() {
	s := e2eSites[1]
	id, err := e.d.newPost(s, "Kept across docker stop")
	if err != nil {
		e.t.Fatal(err)
	}
	if ok, err := e.d.postShown(s, id, "Kept across docker stop"); !ok {
		e.t.Fatalf("post %d not shown: %v", id, err)
	}
	e.kept = id
}

// backupRestore: ctl backup, delete a post, ctl restore brings it back.
func (e *e2e) backupRestore() {
	t, d, s := e.t, e.d, e2eSites[0]
	const title = "Brought back by ctl restore"
	id, err := d.newPost(s, title)
	if err != nil {
		t.Fatal(err)
	}
	out := mustDocker(t, "exec", d.id, "ctl", "backup", s.Name)
	archive := strings.Fields(out)[0]
	t.Logf("ctl backup %s: %s", s.Name, out)
	if err := d.deletePost(s, id); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.postShown(s, id, title); ok || err != nil {
		t.Fatalf("post %d still shown after its deletion (%v)", id, err)
	}
	out = mustDocker(t, "exec", d.id, "ctl", "restore", s.Name, filepath.Base(archive))
	t.Logf("ctl restore %s: %s", s.Name, out)
	if ok, err := d.postShown(s, id, title); !ok {
		t.Errorf("post %d not back after the restore (%v)", id, err)
	}
	d.waitStatus("instances up after the restore", time.Minute, instancesUp(len(e2eSites)))
}

// kill: SIGKILL to a service's pid from ctl status; it is restarted (a new pid, one more
// restart) and ready again, and what it serves works. After dockerd, both instances are
// running and healthy and serve again.
func (e *e2e) kill(name string) {
	t, d := e.t, e.d
	st, err := d.status()
	if err != nil {
		t.Fatal(err)
	}
	before := service(st, name)
	if before.Pid <= 0 {
		t.Fatalf("%s has no pid: %+v", name, before)
	}
	mustDocker(t, "exec", d.id, "kill", "-9", fmt.Sprint(before.Pid))
	start := time.Now()
	st, _ = d.waitStatus(name+" restarted", 2*time.Minute, func(st *ctl.Status) error {
		s := service(st, name)
		if s.Pid == before.Pid || s.Restarts <= before.Restarts {
			return fmt.Errorf("%s: pid %d, %d restarts (before: pid %d, %d restarts)", name, s.Pid, s.Restarts, before.Pid, before.Restarts)
		}
		return servicesReady(st)
	})
	after := service(st, name)
	t.Logf("%s: pid %d -> %d, restarts %d -> %d, ready again in %.1f s (last exit %s)", name,
		before.Pid, after.Pid, before.Restarts, after.Restarts, time.Since(start).Seconds(), after.LastExit)
	switch name {
	case "php-fpm", "nginx":
		code, body := httpGet(t, d.url("8080")+"/")
		if code != 200 || !strings.Contains(body, "pma_username") {
			t.Errorf("phpMyAdmin after kill -9 %s: %d", name, code)
		}
	case "maildev":
		if code, _ := httpGet(t, d.url("1080")+"/healthz"); code != 200 {
			t.Errorf("MailDev after kill -9: %d", code)
		}
	case "dockerd":
		if _, err := d.waitSites(e2eSites, 4*time.Minute); err != nil {
			t.Fatal(err)
		}
		t.Logf("both sites serve again %.1f s after kill -9 dockerd", time.Since(start).Seconds())
		// The status says healthy once the reconciler's repair saw each site answer, which
		// is right after the test sees it (docs/instances.md, "Status").
		d.waitStatus("instances up after dockerd", 2*time.Minute, all(servicesReady, instancesUp(len(e2eSites))))
		t.Logf("both instances running and healthy %.1f s after kill -9 dockerd", time.Since(start).Seconds())
	}
}

// stop: docker stop ends wpinit with 0 and each database log ends with a clean shutdown.
func (e *e2e) stop() {
	t, d := e.t, e.d
	start := time.Now()
	mustDocker(t, "stop", "-t", "100", d.id)
	if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", d.id); code != "0" {
		t.Errorf("wp-dind exited %s on docker stop", code)
	}
	t.Logf("docker stop took %.1f s", time.Since(start).Seconds())
	e.logSizes = map[string]int{}
	for _, s := range e2eSites {
		log := readFile(t, filepath.Join(d.inst, s.dbLogDir(), "error.log"))
		ready, down := strings.LastIndex(log, "ready for connections"), strings.LastIndex(log, "Shutdown complete")
		if ready < 0 || down < ready {
			t.Errorf("%s: the database log does not end with a clean shutdown:\n%s", s.Name, lastLines(log, 8))
		}
		e.logSizes[s.Name] = len(log)
	}
}

var crashRecovery = regexp.MustCompile(`(?i)crash recovery`)

// secondBoot: docker start of the same container, the truncated tarball removed: every
// tarball skipped, both instances up, the post kept, each database started without crash
// recovery.
func (e *e2e) secondBoot() {
	t, d := e.t, e.d
	if err := os.Remove(filepath.Join(d.shared, truncatedTar)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d.restart()
	st, _ := d.waitStatus("second boot", 5*time.Minute, all(servicesReady, imagesDone, instancesUp(len(e2eSites))))
	t.Logf("second boot: instances running and healthy %.1f s after docker start (images settled in %.3f s)",
		time.Since(start).Seconds(), st.Images.Duration.Seconds())
	for _, tb := range st.Images.Tarballs {
		if tb.State != ctl.TarballSkipped {
			t.Errorf("second boot: %s %s (%s %s), want skipped", tb.Name, tb.State, tb.Reason, tb.Error)
		}
	}
	if ok, err := d.postShown(e2eSites[1], e.kept, "Kept across docker stop"); !ok {
		t.Errorf("post %d gone after docker stop and start (%v)", e.kept, err)
	}
	for _, s := range e2eSites {
		log := readFile(t, filepath.Join(d.inst, s.dbLogDir(), "error.log"))
		since := log[min(e.logSizes[s.Name], len(log)):]
		if !strings.Contains(since, "ready for connections") || crashRecovery.MatchString(since) {
			t.Errorf("%s: the database's start after docker start:\n%s", s.Name, since)
		}
	}
}

// lastLines is the end of a log, for a failure message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

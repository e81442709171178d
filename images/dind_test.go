package images_test

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fallbackFlags stand in for --privileged where the machine's capability bounding set lacks
// CAP_SYS_RESOURCE (docs/images.md, "wp-dind"; scripts/run.sh uses the same set).
var fallbackFlags = []string{"--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
	"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
	"--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
	"-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"}

// dindImage is the wp-dind image under test: WP_DIND_DIND_IMAGE, else wp-dind:latest when
// the images come from images/versions.txt; none when only WP_DIND_IMAGES is set.
func dindImage() string {
	if ref := os.Getenv("WP_DIND_DIND_IMAGE"); ref != "" {
		return ref
	}
	if os.Getenv("WP_DIND_IMAGES") != "" {
		return ""
	}
	return "wp-dind:latest"
}

// TestDind: wp-dind starts, turns healthy with dockerd, php-fpm, nginx and MailDev running
// and ready, serves phpMyAdmin's login page and MailDev's UI on its published ports, catches
// a mail sent to its SMTP port, runs the inner engine on overlay2, and stops cleanly.
func TestDind(t *testing.T) {
	ref := dindImage()
	if ref == "" {
		t.Skip("WP_DIND_IMAGES names the images under test and WP_DIND_DIND_IMAGE is unset")
	}
	if _, err := docker("image", "inspect", ref); err != nil {
		t.Fatalf("%s (run make images): %v", ref, err)
	}
	id := startDind(t, ref, newVolume(t))
	took := mustHealthy(t, id, 120*time.Second)
	t.Logf("%s healthy after %s", ref, took.Round(time.Millisecond))

	status := mustDocker(t, "exec", id, "ctl", "status")
	for _, name := range []string{"dockerd", "php-fpm", "nginx", "maildev"} {
		if !hasLine(status, name, "RUNNING", "yes") {
			t.Errorf("ctl status: %s not RUNNING and ready:\n%s", name, status)
		}
	}
	if driver := mustDocker(t, "exec", id, "docker", "info", "-f", "{{.Driver}}"); driver != "overlay2" {
		t.Errorf("inner engine storage driver %q, want overlay2", driver)
	}
	pma := "http://" + published(t, id, "8080")
	if code, body := httpGet(t, pma+"/"); code != 200 || !strings.Contains(body, "pma_username") {
		t.Errorf("phpMyAdmin login page: %d %.200q", code, body)
	}
	mail := "http://" + published(t, id, "1080")
	if code, body := httpGet(t, mail+"/"); code != 200 || !strings.Contains(body, "MailDev") {
		t.Errorf("MailDev UI: %d %.200q", code, body)
	}
	checkMailCaught(t, id, mail)
	if _, err := docker("exec", id, "docker", "-H", "tcp://127.0.0.1:2375", "info"); err == nil {
		t.Error("the inner engine's TCP API answers, but it is off by default")
	}
	stopDind(t, id)
}

// TestDindTCPAPI: WPINIT_DOCKER_TCP turns the inner engine's API on over TCP, and without TLS
// the sysinit report warns that it is unauthenticated.
func TestDindTCPAPI(t *testing.T) {
	ref := dindImage()
	if ref == "" {
		t.Skip("WP_DIND_IMAGES names the images under test and WP_DIND_DIND_IMAGE is unset")
	}
	id := startDind(t, ref, newVolume(t), "-e", "WPINIT_DOCKER_TCP=127.0.0.1:2375")
	mustHealthy(t, id, 120*time.Second)
	if v := mustDocker(t, "exec", id, "docker", "-H", "tcp://127.0.0.1:2375", "version", "-f", "{{.Server.Version}}"); v == "" {
		t.Error("no server version over the TCP API")
	}
	var st struct {
		Sysinit struct {
			Steps []struct{ Name, Outcome, Error string } `json:"steps"`
		} `json:"sysinit"`
	}
	if err := json.Unmarshal([]byte(mustDocker(t, "exec", id, "ctl", "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range st.Sysinit.Steps {
		if s.Name == "dockerd-config" {
			found = s.Outcome == "warning" && strings.Contains(s.Error, "unauthenticated")
		}
	}
	if !found {
		t.Errorf("sysinit report lacks the unauthenticated-API warning: %+v", st.Sysinit.Steps)
	}
	stopDind(t, id)
}

// startDind runs wp-dind with --privileged, or with fallbackFlags where --privileged fails
// for lack of capabilities, publishing phpMyAdmin and MailDev on 127.0.0.1, with the inner
// engine's data on volume; extra adds docker run options (mounts, more ports).
func startDind(t *testing.T, ref, volume string, extra ...string) string {
	t.Helper()
	opts := []string{"--stop-timeout", "100", "-p", "127.0.0.1::8080", "-p", "127.0.0.1::1080",
		"-v", volume + ":/var/lib/docker"}
	return runContainer(t, ref, append(append(dindFlags(t, ref), opts...), extra...)...)
}

// dindPrivilege caches what dindFlags found: the answer is the machine's, not the test's.
var dindPrivilege struct {
	sync.Mutex
	flags []string
}

// dindFlags is --privileged when a container of ref starts with it here, else fallbackFlags
// when it fails for lack of capabilities ("unable to apply caps: operation not permitted").
// A throwaway container finds out, once per test binary, so that the containers under test
// (and the timings of the boot benchmark) start with a single docker run.
func dindFlags(t *testing.T, ref string) []string {
	t.Helper()
	dindPrivilege.Lock()
	defer dindPrivilege.Unlock()
	if dindPrivilege.flags != nil {
		return dindPrivilege.flags
	}
	_, err := docker("run", "--rm", "--privileged", "--label", labelValue(t), "--entrypoint", "true", ref)
	switch {
	case err == nil:
		dindPrivilege.flags = []string{"--privileged"}
	case strings.Contains(err.Error(), "operation not permitted"):
		t.Logf("--privileged fails here (%s); using the documented flag set", "unable to apply caps")
		dindPrivilege.flags = fallbackFlags
	default:
		t.Fatal(err)
	}
	return dindPrivilege.flags
}

// checkMailCaught: an SMTP dialogue with MailDev on 127.0.0.1:1025 inside the container,
// then the mail in its API on the published web port.
func checkMailCaught(t *testing.T, id, mail string) {
	t.Helper()
	const subject = "wp-dind contract mail"
	dialogue := `exec 3<>/dev/tcp/127.0.0.1/1025 || exit 1
send() { printf '%s\r\n' "$1" >&3; IFS= read -r line <&3; echo "$line"; }
IFS= read -r line <&3
send 'HELO test'; send 'MAIL FROM:<wp@example.test>'; send 'RCPT TO:<admin@example.test>'
printf 'DATA\r\n' >&3; IFS= read -r line <&3
send $'Subject: ` + subject + `\r\n\r\nhello\r\n.'
send 'QUIT'`
	if out, err := execIn(id, dialogue, "bash"); err != nil || !strings.Contains(out, "250") {
		t.Fatalf("SMTP to MailDev: %q %v", out, err)
	}
	code, body := httpGet(t, mail+"/email")
	if code != 200 || !strings.Contains(body, subject) {
		t.Errorf("MailDev /email: %d, no %q in %.300q", code, subject, body)
	}
}

// stopDind: docker stop within the documented stop timeout ends wpinit with exit code 0.
func stopDind(t *testing.T, id string) {
	t.Helper()
	start := time.Now()
	mustDocker(t, "stop", "-t", "100", id)
	if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", id); code != "0" {
		t.Errorf("wp-dind exited %s on docker stop", code)
	}
	t.Logf("docker stop took %s", time.Since(start).Round(time.Millisecond))
}

// hasLine: some line of out starts with name and holds every one of fields.
func hasLine(out, name string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != name {
			continue
		}
		ok := true
		for _, want := range fields {
			ok = ok && strings.Contains(" "+strings.Join(f[1:], " ")+" ", " "+want+" ")
		}
		if ok {
			return true
		}
	}
	return false
}

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// runBin runs the wpinit binary (or a symlink to it) and returns its output and exit code.
func runBin(t *testing.T, path string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestCtlCommands drives a running wpinit with the real `wpinit ctl` and a `ctl` symlink.
func TestCtlCommands(t *testing.T) {
	in := startWpinit(t, "version = 1\n"+webService, true)
	in.waitService("web", "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
	bin := wpinitBin(t)
	link := filepath.Join(t.TempDir(), "ctl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	sock := "WPINIT_SOCKET=" + in.socket
	tests := []struct {
		name    string
		path    string
		env     []string
		args    []string
		code    int
		stdout  string // substring
		stderr  string // substring
		oneLine bool   // stderr is one line
	}{
		{"status table", bin, nil, []string{"ctl", "--socket", in.socket, "status"}, 0, "SERVICE  STATE    PID", "", false},
		{"symlink, env socket", link, []string{sock}, []string{"status"}, 0, "web      RUNNING", "", false},
		{"status json", link, []string{sock}, []string{"status", "--json"}, 0, `"state": "RUNNING"`, "", false},
		{"status check", link, []string{sock}, []string{"status", "--check"}, 0, "healthy: 1 services", "", false},
		{"status check and json", link, []string{sock}, []string{"status", "--check", "--json"}, 2, "", "usage: wpinit ctl", false},
		{"wait", link, []string{sock}, []string{"wait", "--timeout", "30s"}, 0, "service web: RUNNING, ready\nservices ready (this wpinit manages no sites) after", "", false},
		{"sites without instances", link, []string{sock}, []string{"sites"}, 1, "", "wpinit ctl: this wpinit manages no sites", true},
		{"logs", link, []string{sock}, []string{"logs", "web", "-n", "1"}, 0, "stdout hello from web", "", false},
		{"signal", link, []string{sock}, []string{"signal", "web", "CONT"}, 0, "", "", false},
		{"unknown service", link, []string{sock}, []string{"restart", "nope"}, 1, "", "wpinit ctl: service \"nope\": unknown service", true},
		{"unreachable", link, []string{"WPINIT_SOCKET=/nonexistent/ctl.sock"}, []string{"status"}, 1, "", "wpinit ctl: reach wpinit at /nonexistent/ctl.sock", true},
		{"usage", link, nil, []string{"frobnicate"}, 2, "", "usage: wpinit ctl", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runBin(t, tt.path, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
			if tt.oneLine && strings.Count(errOut, "\n") != 1 {
				t.Errorf("error is not one line: %q", errOut)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	bin := wpinitBin(t)
	dir := t.TempDir()
	good := writeConfig(t, dir, "version = 1\n"+webService)
	out, _, code := runBin(t, bin, nil, "config", "check", good)
	if code != 0 || out != good+": ok\n" {
		t.Errorf("good file: exit %d, %q", code, out)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("version = 1\nnope = 1\n[services.a]\nstop_signal = \"TERM\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runBin(t, bin, nil, "config", "check", bad)
	want := bad + ":2: nope: unknown key\n" + bad + ":3: services.a.command: missing: every service needs a command\n"
	if code != exitConfig || errOut != want {
		t.Errorf("bad file: exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}

// TestConfigCheckUnknownUser: a user this machine lacks is reported with its line, then the
// note that says where conf/wpinit.toml (which names maildev) is meant to be checked.
func TestConfigCheckUnknownUser(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "version = 1\n"+webService+"user = \"no-such-user-wpdind\"\n")
	var out, errOut bytes.Buffer
	if err := checkConfig(&out, &errOut, path); !errors.Is(err, config.ErrUnknownUser) {
		t.Fatalf("err = %v", err)
	}
	want := path + ":7: services.web.user: unknown user \"no-such-user-wpdind\"\n" + unknownUserHint
	if out.Len() != 0 || errOut.String() != want {
		t.Errorf("stdout %q, stderr:\n%s\nwant:\n%s", out.String(), errOut.String(), want)
	}
	if !strings.Contains(unknownUserHint, "make config-check") {
		t.Error("the note does not name the make target")
	}
}

func TestStatusTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &ctl.Status{
		Wpinit: &ctl.DaemonStatus{ConfigError: "w.toml:3: services.x: unknown key"},
		Services: []ctl.ServiceStatus{
			{Name: "dockerd", State: "RUNNING", Pid: 12, Ready: true, Started: now.Add(-90 * time.Minute), Restarts: 2, LastExit: "signal 9 (SIGKILL)"},
			{Name: "nginx", State: "BACKOFF", Error: "not ready within 1s (tcp check)"},
		},
	}
	var b bytes.Buffer
	if err := writeStatusTable(&b, st, now); err != nil {
		t.Fatal(err)
	}
	want := `SERVICE  STATE    PID  READY  UPTIME  RESTARTS  LAST EXIT
dockerd  RUNNING  12   yes    1h30m   2         signal 9 (SIGKILL)
nginx    BACKOFF  -    no     -       0         - (not ready within 1s (tcp check))

config not applied (the running one stays):
  w.toml:3: services.x: unknown key
`
	if got := trimLines(b.String()); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func TestFormatUptime(t *testing.T) {
	tests := map[time.Duration]string{
		12 * time.Second: "12s", 252 * time.Second: "4m12s", 125 * time.Minute: "2h5m", 100 * time.Hour: "4d4h",
	}
	for d, want := range tests {
		if got := formatUptime(d); got != want {
			t.Errorf("formatUptime(%s) = %s, want %s", d, got, want)
		}
	}
}

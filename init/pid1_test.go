package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
	"golang.org/x/sys/unix"
)

// The tests below run the real bin/wpinit as PID 1 of a new PID namespace
// (unshare --pid --fork --mount-proc) with the test binary as its services, and look at
// the namespace from outside through /proc.

const webService = `
[services.web]
command = "@EXE@"
start_secs = "100ms"
env = { WPDIND_TEST_HELPER = "serve", NAME = "web" }
`

func TestPID1OrphansReaped(t *testing.T) {
	in := startWpinit(t, `version = 1
[wpinit]
log_dir = "@DIR@/log"
`+webService+`
[services.orphans]
command    = "@EXE@"
env        = { WPDIND_TEST_HELPER = "orphans", ORPHANS = "1000", EXIT_CODE = "7" }
restart    = "never"
exit_codes = [7]
start_secs = "0s"
`, true)
	s := in.waitService("orphans", "exited", func(s ctl.ServiceStatus) bool { return s.State == "EXITED" })
	if s.LastExit != "exit 7" || s.ExitCode != 7 {
		t.Errorf("orphans service: last exit %q, want exit 7 kept while 1000 orphans are reaped", s.LastExit)
	}
	testutil.WaitFor(t, pid1Wait, "1000 orphans reaped", func() bool { return in.status().Wpinit.Orphans >= 1000 })
	testutil.WaitFor(t, pid1Wait, "namespace down to wpinit and web", func() bool { return len(inNamespace(in.hostPid)) == 2 })
	if ps := inNamespace(in.hostPid); zombies(ps) != 0 {
		t.Errorf("zombies left: %+v", ps)
	}
	t.Logf("reaped %d orphans", in.status().Wpinit.Orphans)
}

func TestPID1KilledServiceRestarts(t *testing.T) {
	in := startWpinit(t, "version = 1\n"+webService, true)
	first := in.waitService("web", "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
	host := hostPid(in.hostPid, first.Pid)
	if host == 0 {
		t.Fatalf("pid %d not found in the namespace", first.Pid)
	}
	if err := unix.Kill(host, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s := in.waitService("web", "restarted", func(s ctl.ServiceStatus) bool { return s.Pid != first.Pid && s.Pid != 0 })
	if s.Restarts != 1 || s.LastExit != "signal 9 (SIGKILL)" || s.ExitSignal != 9 {
		t.Errorf("after SIGKILL: restarts %d, last exit %q (signal %d); want 1, signal 9", s.Restarts, s.LastExit, s.ExitSignal)
	}
}

// TestPID1OrderAndTerm: b waits for a's READY=1, c for b's TCP port; TERM to PID 1 stops
// c, b, a in that order and wpinit exits 0 within its budget.
func TestPID1OrderAndTerm(t *testing.T) {
	in := startWpinit(t, `version = 1
[wpinit]
stop_timeout = "20s"

[services.a]
command = "@EXE@"
env = { WPDIND_TEST_HELPER = "serve", NAME = "a", EVENTS = "@DIR@/events", READY_AFTER = "200ms" }
ready.notify = true

[services.b]
command = "@EXE@"
env = { WPDIND_TEST_HELPER = "serve", NAME = "b", EVENTS = "@DIR@/events", LISTEN_TCP = "127.0.0.1:0" }
depends_on = ["a"]
ready.command = ["/bin/sh", "-c", "grep -q 'ready b' @DIR@/events"]
ready.interval = "20ms"

[services.c]
command = "@EXE@"
env = { WPDIND_TEST_HELPER = "serve", NAME = "c", EVENTS = "@DIR@/events" }
depends_on = ["b"]
`, true)
	events := filepath.Join(in.dir, "events")
	testutil.WaitEvent(t, pid1Wait, events, "ready c")
	if got, want := testutil.Events(t, events), "start a\nready a\nstart b\nready b\nstart c\nready c\n"; got != want {
		t.Fatalf("start events:\n%s\nwant:\n%s", got, want)
	}
	start := time.Now()
	if err := unix.Kill(in.hostPid, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := in.wait(20 * time.Second); code != exitOK {
		t.Errorf("exit code %d after TERM, want 0", code)
	}
	t.Logf("stopped in %s", time.Since(start))
	if got := testutil.Events(t, events); !strings.HasSuffix(got, "stop c\nstop b\nstop a\n") {
		t.Errorf("stop events:\n%s", got)
	}
}

func TestPID1StuckServiceKilled(t *testing.T) {
	in := startWpinit(t, `version = 1
[services.stuck]
command = "@EXE@"
env = { WPDIND_TEST_HELPER = "serve", NAME = "stuck", IGNORE_TERM = "1", LEAVE_CHILD = "1", EVENTS = "@DIR@/events" }
stop_timeout = "500ms"
`, true)
	s := in.waitService("stuck", "running", func(s ctl.ServiceStatus) bool { return s.Pid != 0 })
	leader := hostPid(in.hostPid, s.Pid)
	testutil.WaitFor(t, pid1Wait, "grandchild started", func() bool { return len(group(in.hostPid, leader)) == 2 })
	start := time.Now()
	if err := in.client.ServiceAction(context.Background(), "stuck", "stop"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("stopped after %s, before stop_timeout", d)
	}
	if g := group(in.hostPid, leader); len(g) != 0 {
		t.Errorf("process group left after stop: %+v", g)
	}
	if s := in.service("stuck"); s.State != "STOPPED" || s.ExitSignal != 9 {
		t.Errorf("state %s, last exit %q; want STOPPED by SIGKILL", s.State, s.LastExit)
	}
}

// group lists the live processes of the namespace in the process group led by leader (the
// test's /proc shows process groups by the test's pids).
func group(wpinit, leader int) []proc {
	var out []proc
	for _, p := range inNamespace(wpinit) {
		if p.pgrp == leader && p.state != "Z" {
			out = append(out, p)
		}
	}
	return out
}

func TestPID1CriticalFatalExits4(t *testing.T) {
	in := startWpinit(t, "version = 1\n"+webService+`
[services.crash]
command       = "@EXE@"
env           = { WPDIND_TEST_HELPER = "exit", EXIT_CODE = "1" }
critical      = true
start_retries = 2
backoff       = "10ms"
`, true)
	if code := in.wait(20 * time.Second); code != exitCritical {
		t.Errorf("exit code %d, want %d", code, exitCritical)
	}
	if !strings.Contains(in.stderr.String(), `critical service failed: stopping: service=crash`) {
		t.Errorf("no critical failure in the log:\n%s", in.stderr.String())
	}
}

// TestPID1Reload: HUP with a broken file changes nothing and shows the error with its line;
// a good file then restarts only the changed service and starts the added one.
func TestPID1Reload(t *testing.T) {
	in := startWpinit(t, "version = 1\n"+webService+strings.ReplaceAll(webService, "web", "other"), true)
	web := in.waitService("web", "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
	other := in.waitService("other", "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
	writeConfig(t, in.dir, "version = 1\n"+webService+"bogus = 1\n")
	if err := unix.Kill(in.hostPid, unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, pid1Wait, "config error in status", func() bool { return in.status().Wpinit.ConfigError != "" })
	if got, want := in.status().Wpinit.ConfigError, "wpinit.toml:7: services.web.bogus: unknown key"; !strings.HasSuffix(got, want) {
		t.Errorf("config error %q, want it to end with %q", got, want)
	}
	if s := in.service("web"); s.Pid != web.Pid {
		t.Errorf("web restarted by a broken reload")
	}
	if s := in.service("other"); s.Pid != other.Pid {
		t.Errorf("other touched by a broken reload")
	}
	changed := strings.Replace(webService, `start_secs = "100ms"`, `start_secs = "200ms"`, 1)
	writeConfig(t, in.dir, "version = 1\n"+changed+strings.ReplaceAll(webService, "web", "added"))
	if err := in.client.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	in.waitService("web", "restarted", func(s ctl.ServiceStatus) bool { return s.Pid != web.Pid && s.Pid != 0 })
	in.waitService("added", "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
	for _, s := range in.status().Services {
		if s.Name == "other" {
			t.Errorf("removed service still listed: %+v", s)
		}
	}
	if e := in.status().Wpinit.ConfigError; e != "" {
		t.Errorf("config error after a good reload: %q", e)
	}
}

func TestPID1BadConfigExits3(t *testing.T) {
	in := startWpinit(t, "version = 1\n[services.x]\nargs = [\"a\"]\n", true)
	if code := in.wait(10 * time.Second); code != exitConfig {
		t.Errorf("exit code %d, want %d", code, exitConfig)
	}
	if !strings.Contains(in.stderr.String(), "wpinit.toml:2: services.x.command: missing") {
		t.Errorf("log does not name the key and line:\n%s", in.stderr.String())
	}
}

// TestQuitStopsFast: QUIT kills a service that would take its 10 s stop timeout at once.
func TestPID1QuitStopsFast(t *testing.T) {
	in := startWpinit(t, `version = 1
[services.stuck]
command = "@EXE@"
env = { WPDIND_TEST_HELPER = "serve", NAME = "stuck", IGNORE_TERM = "1", LEAVE_CHILD = "1" }
stop_timeout = "10s"
`, true)
	in.waitService("stuck", "running", func(s ctl.ServiceStatus) bool { return s.Pid != 0 })
	start := time.Now()
	if err := unix.Kill(in.hostPid, unix.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if code := in.wait(5 * time.Second); code != exitOK {
		t.Errorf("exit code %d after QUIT, want 0", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("QUIT took %s", d)
	}
}

// TestSubreaper: not PID 1, wpinit says it is a subreaper and still reaps its orphans.
func TestSubreaper(t *testing.T) {
	in := startWpinit(t, `version = 1
[services.orphans]
command    = "@EXE@"
env        = { WPDIND_TEST_HELPER = "orphans", ORPHANS = "50", EXIT_CODE = "0" }
restart    = "never"
start_secs = "0s"
`, false)
	testutil.WaitFor(t, pid1Wait, "50 orphans reaped", func() bool { return in.status().Wpinit.Orphans >= 50 })
	if !strings.Contains(in.stderr.String(), "registered as child subreaper") {
		t.Errorf("log does not say subreaper:\n%s", in.stderr.String())
	}
	if err := in.client.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := in.wait(10 * time.Second); code != exitOK {
		t.Errorf("exit code %d after ctl shutdown, want 0", code)
	}
	_ = os.Remove(in.socket)
}

// TestPID1ChildSignalsDefault: wpinit catches PIPE rather than ignoring it, so a child that
// does not touch its signals (sleep) ignores nothing that wpinit did not inherit itself, not
// PIPE in particular, and blocks nothing; USR1 dumps the status.
func TestPID1ChildSignalsDefault(t *testing.T) {
	in := startWpinit(t, `version = 1
[services.plain]
command = "sleep"
args    = ["1000"]
`, true)
	s := in.waitService("plain", "running", func(s ctl.ServiceStatus) bool { return s.Pid != 0 })
	child := hostPid(in.hostPid, s.Pid)
	ignored, inherited := sigMask(t, child, "SigIgn"), sigMask(t, in.hostPid, "SigIgn")
	if pipe := uint64(1) << (unix.SIGPIPE - 1); ignored&pipe != 0 || ignored&^inherited != 0 {
		t.Errorf("child ignores %#x; wpinit inherited %#x; PIPE must not be ignored", ignored, inherited)
	}
	if blocked := sigMask(t, child, "SigBlk"); blocked != 0 {
		t.Errorf("child blocks %#x", blocked)
	}
	if err := unix.Kill(in.hostPid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, pid1Wait, "status dump", func() bool {
		return strings.Contains(in.stderr.String(), "service status: service=plain state=")
	})
}

// sigMask reads a signal mask line (SigIgn, SigBlk) of /proc/PID/status.
func sigMask(t *testing.T, pid int, field string) uint64 {
	t.Helper()
	for _, line := range strings.Split(readFile(t, "/proc/"+strconv.Itoa(pid)+"/status"), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(rest), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s for pid %d", field, pid)
	return 0
}

// TestPID1NoStartDuringShutdown: TERM begins the stop, and slow keeps it going (3 s between
// TERM and its exit). Meanwhile a HUP and a `ctl reload` bring a file that changes web and
// adds a service: both are refused (the ctl call with the reason), and the services' records
// show that nothing started after the TERM. wpinit still exits 0.
func TestPID1NoStartDuringShutdown(t *testing.T) {
	const service = `
[services.%[1]s]
command = "@EXE@"
env = { WPDIND_TEST_HELPER = "serve", NAME = "%[1]s", EVENTS = "@DIR@/events"%[2]s }
stop_timeout = "20s"
`
	slow := fmt.Sprintf(service, "slow", `, STOP_DELAY = "3s"`)
	in := startWpinit(t, "version = 1\n[wpinit]\nstop_timeout = \"30s\"\n"+slow+fmt.Sprintf(service, "web", ""), true)
	events := filepath.Join(in.dir, "events")
	for _, name := range []string{"slow", "web"} {
		in.waitService(name, "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
		testutil.WaitEvent(t, pid1Wait, events, "ready "+name)
	}
	before := testutil.Events(t, events)
	writeConfig(t, in.dir, "version = 1\n[wpinit]\nstop_timeout = \"30s\"\n"+slow+
		fmt.Sprintf(service, "web", `, EXTRA = "1"`)+fmt.Sprintf(service, "added", ""))
	if err := unix.Kill(in.hostPid, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	in.waitService("slow", "stopping", func(s ctl.ServiceStatus) bool { return s.State == "STOPPING" })
	if err := unix.Kill(in.hostPid, unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := in.client.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "stopping") {
		t.Errorf("ctl reload during the stop: %v, want a refusal", err)
	}
	testutil.WaitFor(t, pid1Wait, "both reloads refused", func() bool {
		return strings.Count(in.stderr.String(), "configuration not applied: stopping") == 2
	})
	if s := in.service("slow"); s.State != "STOPPING" {
		t.Errorf("the reloads came after the stop: slow is %s", s.State)
	}
	if code := in.wait(30 * time.Second); code != exitOK {
		t.Errorf("exit code %d, want 0", code)
	}
	after := strings.TrimPrefix(testutil.Events(t, events), before)
	if strings.Contains(after, "start ") || !strings.Contains(after, "stop slow\n") {
		t.Errorf("records after TERM:\n%s", after)
	}
}

// panicInputs are the files that once panicked wpinit's parsers: a line starting "[[]" (the
// line index) and a file ending in `"\` (the TOML library's ErrorWithPosition), each with the
// line its error must name.
var panicInputs = []struct {
	name, body string
	line       int
}{
	{"header", "version = 1\n[[]\n", 2},
	{"escape", "version = 1\n\"\\", 2},
}

// instancesConfig is a wpinit.toml whose reconciler reads @DIR@/instances.toml over the
// engine, as owner, with nothing of its own on the engine (no pool networks, no instances).
func instancesConfig(owner string) string {
	return fmt.Sprintf(`version = 1
[instances]
file = "@DIR@/instances.toml"
root = "@DIR@/instances"
owner = %[1]q
network_prefix = "%[1]s-net-"
shared_network = "%[1]s-shared"
pool_networks = 0
stop_on_exit = false
`, owner) + webService
}

// TestPID1PanicInstancesFile: each panic input as instances.toml, at boot and then on HUP
// (after a good file), leaves wpinit up with the error, file and line, in `ctl status`.
func TestPID1PanicInstancesFile(t *testing.T) {
	requireDocker(t)
	for _, in := range panicInputs {
		t.Run(in.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "instances.toml")
			writeFile(t, file, in.body)
			w := startWpinitIn(t, dir, instancesConfig(testutil.Name(t, "wpinit-pid1")), true)
			want := fmt.Sprintf("%s:%d: ", file, in.line)
			w.waitFileError("at boot", want)
			w.ctlStatusShows(want)

			writeFile(t, file, "version = 1\n")
			w.hup()
			w.waitFileError("after a good file", "")
			writeFile(t, file, in.body)
			w.hup()
			w.waitFileError("on HUP", want)
			w.ctlStatusShows(want)
			if s := w.service("web"); s.State != "RUNNING" {
				t.Errorf("web is %s after the bad files", s.State)
			}
		})
	}
}

// TestPID1PanicWpinitFile: each panic input as wpinit.toml is refused with its line on HUP,
// the running config kept, and at boot wpinit exits 3 with the error, not a panic.
func TestPID1PanicWpinitFile(t *testing.T) {
	for _, in := range panicInputs {
		t.Run(in.name, func(t *testing.T) {
			w := startWpinit(t, "version = 1\n"+webService, true)
			web := w.waitService("web", "running", func(s ctl.ServiceStatus) bool { return s.State == "RUNNING" })
			writeFile(t, w.cfgPath, in.body)
			w.hup()
			want := fmt.Sprintf("%s:%d: ", w.cfgPath, in.line)
			testutil.WaitFor(t, pid1Wait, "config error in status", func() bool {
				return strings.Contains(w.status().Wpinit.ConfigError, want)
			})
			if s := w.service("web"); s.Pid != web.Pid || s.State != "RUNNING" {
				t.Errorf("web after the refused reload: %+v, want it untouched", s)
			}

			boot := startWpinit(t, in.body, true)
			if code := boot.wait(10 * time.Second); code != exitConfig {
				t.Errorf("boot: exit code %d, want %d", code, exitConfig)
			}
			log := boot.stderr.String()
			if !strings.Contains(log, fmt.Sprintf("wpinit.toml:%d: ", in.line)) || strings.Contains(log, "panic") || strings.Contains(log, "goroutine ") {
				t.Errorf("boot log, want the error with its line and no panic:\n%s", log)
			}
		})
	}
}

// TestConfigCheckPanicInputs: `wpinit config check` answers each panic input with its line
// and exit 3, in-process (Detail, where `"\` panicked) and as the real binary.
func TestConfigCheckPanicInputs(t *testing.T) {
	for _, in := range panicInputs {
		path := filepath.Join(t.TempDir(), "wpinit.toml")
		writeFile(t, path, in.body)
		want := fmt.Sprintf("%s:\ntoml: error: ", path)
		var out, errOut bytes.Buffer
		if err := checkConfig(&out, &errOut, path); err == nil || !strings.HasPrefix(errOut.String(), want) ||
			!strings.Contains(errOut.String(), fmt.Sprintf("At line %d", in.line)) {
			t.Errorf("%s: %v, stderr:\n%s", in.name, err, errOut.String())
		}
		if os.Getenv("WPINIT_BIN") == "" {
			continue
		}
		_, stderr, code := runBin(t, wpinitBin(t), nil, "config", "check", path)
		if code != exitConfig || !strings.HasPrefix(stderr, want) {
			t.Errorf("%s: wpinit config check: exit %d, stderr:\n%s", in.name, code, stderr)
		}
	}
}

// requireDocker skips (fails under make test) without an engine: the reconciler part waits for one.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		testutil.SkipOrFail(t, "needs a Docker engine for the instances part", "make engine")
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (in *instance) hup() {
	in.t.Helper()
	if err := unix.Kill(in.hostPid, unix.SIGHUP); err != nil {
		in.t.Fatal(err)
	}
}

// waitFileError waits until the instances section's file error holds want ("" for none).
func (in *instance) waitFileError(when, want string) {
	in.t.Helper()
	testutil.WaitFor(in.t, pid1Wait, fmt.Sprintf("instances file error %q %s", want, when), func() bool {
		st := in.status().Instances
		if st == nil {
			return false
		}
		if want == "" {
			return st.FileError == "" && !st.LastPass.IsZero()
		}
		return strings.Contains(st.FileError, want)
	})
}

// ctlStatusShows runs `wpinit ctl status` and requires want in what it prints.
func (in *instance) ctlStatusShows(want string) {
	in.t.Helper()
	out, errOut, code := runBin(in.t, wpinitBin(in.t), nil, "ctl", "--socket", in.socket, "status")
	if code != 0 || !strings.Contains(out, want) {
		in.t.Errorf("ctl status: exit %d, want %q in:\n%s%s", code, want, out, errOut)
	}
}

package testutil

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Services are the helper modes of every process test (the reaper's, the supervisor's and
// wpinit's PID-1 tests): a package's TestMain is testutil.Main(m, testutil.Services). Each
// mode reads its options from the environment, so a service definition (an exec.Cmd's Env,
// a wpinit.toml `env` table) says what the process does.
var Services = map[string]func(){
	"serve":   Serve,
	"exit":    Exit,
	"orphans": Orphans,
}

// Serve plays a long-running service. It sets up its TERM handling first, records
// "start NAME" in the EVENTS file, prints "hello from NAME" on stdout, becomes ready and
// records "ready NAME", then on TERM records "stop NAME" and exits 0. Options:
//
//	NAME          the name in its records and greeting
//	EVENTS        the file the records are appended to (none when unset)
//	HELLO_STDERR  1: greet on stderr too
//	IGNORE_TERM   1: ignore TERM (the greeting says it is ignored by then); only SIGKILL ends it
//	LEAVE_CHILD   1: leave a child in its process group, a Serve named NAME-child
//	READY_AFTER   a duration to wait before becoming ready (a slow service)
//	LISTEN_TCP    an address to listen on once ready (a TCP readiness check)
//	NO_READY      1: never send READY=1 to NOTIFY_SOCKET
//	STOP_DELAY    a duration between TERM and the exit (a slow stop)
func Serve() {
	name := os.Getenv("NAME")
	// TERM is handled before the start is announced: a test may stop the service as soon
	// as it sees it started.
	sigs := make(chan os.Signal, 1)
	ignore := os.Getenv("IGNORE_TERM") == "1"
	if ignore {
		signal.Ignore(unix.SIGTERM)
	} else {
		signal.Notify(sigs, unix.SIGTERM)
	}
	record("start " + name)
	fmt.Println("hello from " + name)
	if os.Getenv("HELLO_STDERR") == "1" {
		fmt.Fprintln(os.Stderr, "hello from "+name)
	}
	if os.Getenv("LEAVE_CHILD") == "1" {
		leaveChild(name)
	}
	becomeReady(name)
	if ignore {
		for {
			time.Sleep(time.Hour) // a timer, so the runtime sees no deadlock
		}
	}
	<-sigs
	if d, err := time.ParseDuration(os.Getenv("STOP_DELAY")); err == nil {
		time.Sleep(d)
	}
	record("stop " + name)
	os.Exit(0)
}

// becomeReady waits READY_AFTER, records the readiness, listens on LISTEN_TCP and says
// READY=1 on NOTIFY_SOCKET.
func becomeReady(name string) {
	if d, err := time.ParseDuration(os.Getenv("READY_AFTER")); err == nil {
		time.Sleep(d) // a slow service: its dependents must wait for it
	}
	record("ready " + name)
	if addr := os.Getenv("LISTEN_TCP"); addr != "" {
		if _, err := net.Listen("tcp", addr); err != nil {
			fmt.Fprintf(os.Stderr, "listen %s: %v\n", addr, err)
			os.Exit(9)
		}
	}
	if sock := os.Getenv("NOTIFY_SOCKET"); sock != "" && os.Getenv("NO_READY") != "1" {
		if c, err := net.Dial("unixgram", sock); err == nil {
			_, _ = c.Write([]byte("STATUS=up\nREADY=1"))
			_ = c.Close()
		}
	}
}

// leaveChild starts a Serve named NAME-child in this process's group, never waited for:
// what php-fpm's workers are to their master. It neither listens nor notifies.
func leaveChild(name string) {
	exe, err := os.Executable()
	if err != nil {
		os.Exit(10)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, k := range []string{"NAME=", "LEAVE_CHILD=", "LISTEN_TCP=", "NOTIFY_SOCKET="} {
			if strings.HasPrefix(kv, k) {
				return true
			}
		}
		return false
	})
	child := exec.Command(exe)
	child.Env = append(env, "NAME="+name+"-child")
	if err := child.Start(); err != nil {
		os.Exit(10)
	}
}

// Exit exits at once with EXIT_CODE.
func Exit() {
	code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	os.Exit(code)
}

// Orphans starts ORPHANS short sleeps it never waits for and exits at once with EXIT_CODE:
// its children become orphans of the nearest reaper, some still running, some zombies.
func Orphans() {
	n, _ := strconv.Atoi(os.Getenv("ORPHANS"))
	for range n {
		p, err := os.StartProcess("/bin/sleep", []string{"sleep", "0.5"}, &os.ProcAttr{})
		if err != nil {
			os.Exit(10)
		}
		_ = p.Release()
	}
	Exit()
}

// record appends one line to the EVENTS file. Lines are short and written with O_APPEND,
// so the services of one test can share the file.
func record(event string) {
	path := os.Getenv("EVENTS")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	_, _ = f.WriteString(event + "\n")
	_ = f.Close()
}

// Events is what the services recorded in the EVENTS file at path, "" before the first one.
func Events(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatalf("read events: %v", err)
	}
	return string(data)
}

// WaitEvent waits until the EVENTS file at path holds the line event ("ready web").
func WaitEvent(tb testing.TB, timeout time.Duration, path, event string) {
	tb.Helper()
	WaitFor(tb, timeout, "event "+strconv.Quote(event), func() bool {
		return strings.Contains("\n"+Events(tb, path), "\n"+event+"\n")
	})
}

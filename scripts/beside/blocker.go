package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// blockerLabel marks the blocker; its value names the run that created it.
const blockerLabel = "org.wp-dind.blocker"

// blockerPublish is what scripts/run.sh publishes: the sites' range without phpMyAdmin's
// 8080 (host offset kept), then phpMyAdmin, MailDev, the dashboard and the router.
func blockerPublish(router []int) []string {
	pub := []string{
		"127.0.0.1:8000-8079:8000-8079", "127.0.0.1:8081-8099:8081-8099",
		"127.0.0.1:8080:8080", "127.0.0.1:1080:1080", "127.0.0.1:8500:8500",
	}
	for _, p := range router {
		pub = append(pub, fmt.Sprintf("127.0.0.1:%d:%d", p, p))
	}
	return pub
}

// routerPorts are the router's host ports as scripts/run.sh picks them: 80 and 443, or its
// fallbacks 8880 and 8443 for one that is taken.
func routerPorts() []int {
	ports := []int{80, 443}
	for i, fallback := range []int{8880, 8443} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i])))
		if err != nil {
			ports[i] = fallback
			continue
		}
		_ = l.Close()
	}
	return ports
}

// blockerPorts are the host ports the blocker holds and answers on.
func blockerPorts(router []int) []int {
	ports := append([]int{1080, 8500}, router...)
	for p := 8000; p <= 8099; p++ {
		ports = append(ports, p)
	}
	return ports
}

// blockerBody starts the answer on every port, so that check tells the blocker's answer
// from anybody else's.
const blockerBody = "wp-dind test blocker on port "

// listener is the blocker's process: perl (in every Debian minbase) listening on every
// port, answering each connection with a short HTTP 200 once the request has come in (or
// a second passed), one at a time. TERM ends it at once (it is PID 1 of its container).
const listener = `
use IO::Socket::INET; use IO::Select;
$SIG{TERM} = sub { exit 0 };
my $sel = IO::Select->new;
for my $p (@ARGV) {
	my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $p, Listen => 128, ReuseAddr => 1)
		or die "listen $p: $!\n";
	$sel->add($s);
}
print "listening\n";
while (1) {
	for my $s ($sel->can_read) {
		my $c = $s->accept or next;
		my $buf = "";
		sysread($c, $buf, 4096) if IO::Select->new($c)->can_read(1);
		my $body = "` + blockerBody + `" . $s->sockport . "\n";
		print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n" . $body;
		close $c;
	}
}
`

// startBlocker runs the blocker and waits until every port answers.
func startBlocker(image string) (*state, error) {
	if _, err := docker("image", "inspect", "-f", "{{.Id}}", image); err != nil {
		return nil, fmt.Errorf("blocker image %s (make instance-images builds the wp-base images): %w", image, err)
	}
	run := randomID()
	args := []string{"run", "-d", "--name", name, "--label", blockerLabel + "=" + run,
		"--label", "org.wp-dind.test=beside@" + run, "--stop-timeout", "5"}
	router := routerPorts()
	for _, p := range blockerPublish(router) {
		args = append(args, "-p", p)
	}
	args = append(args, "--entrypoint", "perl", image, "-e", listener)
	for _, p := range blockerPorts(router) {
		args = append(args, strconv.Itoa(p))
	}
	id, err := docker(args...)
	if err != nil {
		// A port taken on the host fails the start, not the create: the container is left
		// behind, created. It carries this run's label; anything else is not touched.
		if made, _ := docker("container", "inspect", "-f", "{{.Id}}", name); made != "" {
			err = errors.Join(err, removeBlocker(&state{ID: made, Run: run}))
		}
		return nil, fmt.Errorf("start the blocker (a port it publishes is taken on the host? make run's wpinit could not start either): %w", err)
	}
	st := &state{Mode: modeBlocker, ID: id, Run: run}
	if err := waitAnswers(blockerPorts(router), 30*time.Second); err != nil {
		logs, _ := docker("logs", "--tail", "20", id)
		_ = removeBlocker(st)
		return nil, fmt.Errorf("the blocker does not answer: %w\n%s", err, logs)
	}
	return st, nil
}

// waitAnswers waits until each port answers as the blocker does.
func waitAnswers(ports []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, p := range ports {
		for {
			err := blockerAnswers(p)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

var client = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// blockerAnswers: GET http://127.0.0.1:PORT/ is the blocker's answer for that port.
func blockerAnswers(port int) error {
	code, body, err := get(port, "")
	switch {
	case err != nil:
		return err
	case code != http.StatusOK || body != blockerBody+strconv.Itoa(port)+"\n":
		return fmt.Errorf("127.0.0.1:%d answers %d %.80q, not the blocker", port, code, body)
	}
	return nil
}

// get asks http://127.0.0.1:PORT/, as host when given, and returns the status and the
// first 64 KiB of the body.
func get(port int, host string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
	if err != nil {
		return 0, "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), err
}

// held: nothing on the host can listen on 127.0.0.1:PORT, since it is taken.
func held(port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		_ = l.Close()
		return fmt.Errorf("127.0.0.1:%d is free: nothing holds it any more", port)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("check 127.0.0.1:%d: %w", port, err)
	}
	return nil
}

// removeBlocker removes the blocker of st, after checking it is that one (ID and label).
func removeBlocker(st *state) error {
	label, err := docker("container", "inspect", "-f", `{{index .Config.Labels "`+blockerLabel+`"}}`, st.ID)
	if err != nil {
		return fmt.Errorf("remove the blocker: %w", err)
	}
	if label != st.Run {
		return fmt.Errorf("remove the blocker: container %.12s is not this run's blocker (label %q)", st.ID, label)
	}
	if _, err := docker("rm", "-f", st.ID); err != nil {
		return fmt.Errorf("remove the blocker: %w", err)
	}
	return nil
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// name is the container make run starts (scripts/run.sh, WP_DIND_NAME), the one the tests
// must leave alone; -name changes it, to try beside on a wp-dind of one's own.
var name = "wpinit"

// dockerTimeout bounds each docker CLI call.
const dockerTimeout = 2 * time.Minute

// docker runs the docker CLI and returns its trimmed stdout; stderr goes into the error.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", shorten(args), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// shorten joins args for a message, each long one (the blocker's program) cut short.
func shorten(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 60 {
			a = strings.Join(strings.Fields(a[:60]), " ") + "..."
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// container is what docker inspect tells of the container named wpinit.
type container struct {
	ID           string `json:"Id"`
	RestartCount int
	State        struct {
		Running   bool
		StartedAt string
	}
	Config struct {
		Labels map[string]string
	}
	NetworkSettings struct {
		Ports map[string][]struct {
			HostIP   string `json:"HostIp"`
			HostPort string
		}
	}
}

var errNoContainer = errors.New("no such container")

// inspect looks the container named wpinit up; errNoContainer when there is none.
func inspect() (*container, error) {
	out, err := docker("container", "ls", "-a", "-q", "--no-trunc", "--filter", "name=^/"+name+"$")
	if err != nil {
		return nil, err
	}
	if out == "" {
		return nil, errNoContainer
	}
	raw, err := docker("container", "inspect", out)
	if err != nil {
		return nil, err
	}
	var cs []container
	if err := json.Unmarshal([]byte(raw), &cs); err != nil || len(cs) != 1 {
		return nil, fmt.Errorf("decode docker inspect %s: %v", name, err)
	}
	return &cs[0], nil
}

// hostPorts are the container's ports published on 127.0.0.1 (or every address): container
// port to host port.
func (c *container) hostPorts() map[int]int {
	out := map[int]int{}
	for key, binds := range c.NetworkSettings.Ports {
		port, proto, _ := strings.Cut(key, "/")
		inner, err := strconv.Atoi(port)
		if err != nil || proto != "tcp" {
			continue
		}
		for _, b := range binds {
			host, err := strconv.Atoi(b.HostPort)
			if err == nil && (b.HostIP == "127.0.0.1" || b.HostIP == "0.0.0.0" || b.HostIP == "") {
				out[inner] = host
			}
		}
	}
	return out
}

// sortedHostPorts is hostPorts' host side, sorted.
func (c *container) sortedHostPorts() []int {
	var out []int
	for _, h := range c.hostPorts() {
		out = append(out, h)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ctlJSON runs `ctl ARGS... --json` inside the container and decodes its answer into v.
func ctlJSON(v any, args ...string) error {
	out, err := docker(append(append([]string{"exec", name, "ctl"}, args...), "--json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("decode ctl %s --json: %w", strings.Join(args, " "), err)
	}
	return nil
}

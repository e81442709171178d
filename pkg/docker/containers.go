package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// CreateContainer creates (does not start) a container on cfg.Network with its static
// address, then connects the further networks: on API < 1.44 a create request carries one
// network, and connecting before start is what every version accepts.
func (c *Client) CreateContainer(ctx context.Context, cfg ContainerConfig) (string, error) {
	ip, err := netip.ParseAddr(cfg.IP)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	conf, host, err := containerConfigs(cfg)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.ContainerCreate(cctx, client.ContainerCreateOptions{
		Name: cfg.Name, Config: conf, HostConfig: host,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			cfg.Network: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	for _, n := range cfg.Also {
		if _, err := c.api.NetworkConnect(cctx, n, client.NetworkConnectOptions{Container: res.ID}); err != nil {
			return res.ID, fmt.Errorf("connect container %q to %q: %w", cfg.Name, n, err)
		}
	}
	return res.ID, nil
}

func containerConfigs(cfg ContainerConfig) (*container.Config, *container.HostConfig, error) {
	timeout := cfg.StopTimeout
	conf := &container.Config{
		Image: cfg.Image, Env: cfg.Env, Labels: cfg.Labels, StopSignal: cfg.StopSignal, StopTimeout: &timeout,
	}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(cfg.Network),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		ExtraHosts:    cfg.ExtraHosts,
		Resources:     container.Resources{NanoCPUs: int64(cfg.CPUs * 1e9), Memory: cfg.Memory},
		CapDrop:       cfg.CapDrop,
		CapAdd:        cfg.CapAdd,
		SecurityOpt:   cfg.SecurityOpt,
	}
	for _, b := range cfg.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: b.Source, Target: b.Target, ReadOnly: b.ReadOnly})
	}
	if cfg.HealthInterval > 0 {
		conf.Healthcheck = &container.HealthConfig{Interval: cfg.HealthInterval, StartInterval: cfg.HealthStartInterval}
	}
	if cfg.Pids > 0 {
		pids := cfg.Pids
		host.Resources.PidsLimit = &pids
	}
	if cfg.HostPort != 0 {
		port, ok := network.PortFrom(uint16(cfg.ContainerPort), network.TCP)
		if !ok {
			return nil, nil, fmt.Errorf("invalid container port %d", cfg.ContainerPort)
		}
		b := network.PortBinding{HostPort: strconv.Itoa(cfg.HostPort)}
		if cfg.HostIP != "" {
			addr, err := netip.ParseAddr(cfg.HostIP)
			if err != nil {
				return nil, nil, fmt.Errorf("bind address: %w", err)
			}
			b.HostIP = addr
		}
		conf.ExposedPorts = network.PortSet{port: {}}
		host.PortBindings = network.PortMap{port: {b}}
	}
	return conf, host, nil
}

// StartContainer starts a container; one already running is not an error.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		if addressInUse(err) {
			return fmt.Errorf("start container %s: %w: %w", short(id), ErrAddressInUse, err)
		}
		return fmt.Errorf("start container %s: %w", short(id), err)
	}
	return nil
}

// StopContainer stops a container with its stop signal, killing it after timeoutSeconds.
// The call's own deadline leaves room for that grace period.
func (c *Client) StopContainer(ctx context.Context, id string, timeoutSeconds int) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout+time.Duration(timeoutSeconds)*time.Second)
	defer cancel()
	t := timeoutSeconds
	if _, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &t}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", short(id), err)
	}
	return nil
}

// RemoveContainer force-removes a container; one already gone is not an error, nor is a
// removal already in progress.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !IsNotFound(err) && !IsConflict(err) {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	return nil
}

// Exec runs cmd in the container as user and returns its exit code and output: stdout and
// stderr interleaved, of which only the start and the end are kept (KeptHead, KeptTail), so a
// command that prints without end costs no memory. ctx bounds the whole run: a long command
// gives it its own deadline.
func (c *Client) Exec(ctx context.Context, id, user string, cmd []string) (ExecResult, error) {
	out := &kept{}
	code, err := c.exec(ctx, id, ExecIO{User: user, Cmd: cmd}, out, out)
	if err != nil {
		return ExecResult{}, err
	}
	return ExecResult{ExitCode: code, Output: out.String()}, nil
}

// Events streams create, start, die, destroy, oom and health_status events of owner's containers
// until ctx ends or the stream breaks (the error channel then yields one error). dockerd
// sends health_status only when a container's health changes.
func (c *Client) Events(ctx context.Context, owner string) (<-chan Event, <-chan error) {
	// "health_status" without a status matches every "health_status: X" (moby's fuzzy match
	// for that event), on API 1.41 as on 1.45.
	f := make(client.Filters).Add("type", "container").Add("label", OwnerFilter(owner)).
		Add("event", ActionCreate, ActionStart, ActionDie, ActionDestroy, ActionOOM, ActionHealthStatus)
	res := c.api.Events(ctx, client.EventsListOptions{Filters: f})
	out := make(chan Event)
	errs := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case m, ok := <-res.Messages:
				if !ok {
					errs <- errors.New("docker event stream closed")
					return
				}
				ev := eventOf(m)
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case err := <-res.Err:
				if err == nil {
					err = errors.New("docker event stream closed")
				}
				errs <- fmt.Errorf("watch docker events: %w", err)
				return
			}
		}
	}()
	return out, errs
}

// eventOf turns an engine message into an Event; "health_status: healthy" becomes the action
// health_status with Health "healthy".
func eventOf(m events.Message) Event {
	ev := Event{Action: string(m.Action), ContainerID: m.Actor.ID, Name: m.Actor.Attributes["name"],
		Instance: m.Actor.Attributes[LabelInstance], Role: m.Actor.Attributes[LabelRole]}
	if action, health, ok := strings.Cut(ev.Action, ": "); ok && action == ActionHealthStatus {
		ev.Action, ev.Health = action, health
	}
	return ev
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

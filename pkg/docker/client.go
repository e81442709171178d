package docker

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// DefaultTimeout bounds one ordinary Docker call (list, create, start, remove).
const DefaultTimeout = 30 * time.Second

// Client implements Engine over the Docker Engine API.
type Client struct {
	api     *client.Client
	version string
	timeout time.Duration
}

var _ Engine = (*Client)(nil)

// Connect makes a client for host ("" for DOCKER_HOST or the default socket), pings the
// daemon and negotiates the API version. It fails when the daemon does not answer: the
// caller should stop there rather than run against an engine it cannot reach.
func Connect(ctx context.Context, host string) (*Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	api, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	ping, err := api.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true, ForceNegotiate: true})
	if err != nil {
		_ = api.Close()
		return nil, fmt.Errorf("ping docker at %s: %w", api.DaemonHost(), err)
	}
	return &Client{api: api, version: ping.APIVersion, timeout: DefaultTimeout}, nil
}

// Ping asks the daemon whether it answers.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("ping docker: %w", err)
	}
	return nil
}

// APIVersion is the API version negotiated with the daemon.
func (c *Client) APIVersion() string { return c.api.ClientVersion() }

// Close releases the client's connections.
func (c *Client) Close() error { return c.api.Close() }

func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// ListContainers lists every container of owner, running or not: one request.
func (c *Client) ListContainers(ctx context.Context, owner string) ([]Container, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", OwnerFilter(owner)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]Container, 0, len(res.Items))
	for _, s := range res.Items {
		out = append(out, containerOf(s))
	}
	return out, nil
}

// containerOf is a list entry as the reconciler sees it.
func containerOf(s container.Summary) Container {
	ct := Container{ID: s.ID, Labels: s.Labels, State: string(s.State), Health: healthOf(s.Status)}
	if s.Health != nil && s.Health.Status != "" {
		ct.Health = string(s.Health.Status)
	}
	if len(s.Names) > 0 {
		ct.Name = strings.TrimPrefix(s.Names[0], "/")
	}
	if s.NetworkSettings != nil {
		for name := range s.NetworkSettings.Networks {
			ct.Networks = append(ct.Networks, name)
		}
		sort.Strings(ct.Networks)
	}
	for _, p := range s.Ports {
		if p.PublicPort != 0 && !slices.Contains(ct.HostPorts, int(p.PublicPort)) {
			ct.HostPorts = append(ct.HostPorts, int(p.PublicPort))
		}
	}
	return ct
}

// ListNetworks lists the networks of owner: one request.
func (c *Client) ListNetworks(ctx context.Context, owner string) ([]Network, error) {
	return c.listNetworks(ctx, make(client.Filters).Add("label", OwnerFilter(owner)))
}

// NetworkByName finds a network by exact name, whoever owns it; nil when there is none.
// Creating a network whose name exists makes a duplicate on API < 1.44, so look first.
func (c *Client) NetworkByName(ctx context.Context, name string) (*Network, error) {
	nets, err := c.listNetworks(ctx, make(client.Filters).Add("name", name))
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if n.Name == name { // the name filter matches substrings
			return &n, nil
		}
	}
	return nil, nil
}

func (c *Client) listNetworks(ctx context.Context, f client.Filters) ([]Network, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	out := make([]Network, 0, len(res.Items))
	for _, s := range res.Items {
		n := Network{ID: s.ID, Name: s.Name, Labels: s.Labels}
		for _, cfg := range s.IPAM.Config {
			if cfg.Subnet.Addr().Is4() {
				n.Subnet = cfg.Subnet.String()
				break
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// BridgeNameOption is the bridge driver's option naming a network's Linux bridge.
const BridgeNameOption = "com.docker.network.bridge.name"

// CreateNetwork creates a bridge network with a fixed subnet (and the bridge name of
// spec.Bridge). Call it from one goroutine.
func (c *Client) CreateNetwork(ctx context.Context, spec NetworkSpec) (string, error) {
	subnet, err := netip.ParsePrefix(spec.Subnet)
	if err != nil {
		return "", fmt.Errorf("create network %q: %w", spec.Name, err)
	}
	cfg := network.IPAMConfig{Subnet: subnet}
	if spec.Gateway != "" {
		if cfg.Gateway, err = netip.ParseAddr(spec.Gateway); err != nil {
			return "", fmt.Errorf("create network %q: %w", spec.Name, err)
		}
	}
	var opts map[string]string
	if spec.Bridge != "" {
		opts = map[string]string{BridgeNameOption: spec.Bridge}
	}
	ctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.NetworkCreate(ctx, spec.Name, client.NetworkCreateOptions{
		Driver: "bridge", IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{cfg}},
		Options: opts, Labels: spec.Labels,
	})
	if err != nil {
		return "", fmt.Errorf("create network %q: %w", spec.Name, err)
	}
	return res.ID, nil
}

// RemoveNetwork removes a network; a network already gone is not an error.
func (c *Client) RemoveNetwork(ctx context.Context, id string) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.api.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", id, err)
	}
	return nil
}

// ImageTags lists the tags of the images present ("wp-php:8.4"): one request.
func (c *Client) ImageTags(ctx context.Context) (map[string]bool, error) {
	ids, err := c.ImageIDs(ctx)
	if err != nil {
		return nil, err
	}
	tags := make(map[string]bool, len(ids))
	for t := range ids {
		tags[t] = true
	}
	return tags, nil
}

// ImageIDs maps the tags of the images present to their IDs ("wp-php:8.4" -> "sha256:..."):
// one request.
func (c *Client) ImageIDs(ctx context.Context) (map[string]string, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	ids := map[string]string{}
	for _, img := range res.Items {
		for _, t := range img.RepoTags {
			ids[t] = img.ID
		}
	}
	return ids, nil
}

// PullImage pulls ref; only called when an instance's pull policy allows it. Errors inside
// the progress stream (an HTTP 200 answer) are decoded and returned.
func (c *Client) PullImage(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	resp, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return fmt.Errorf("pull image %s: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("pull image %s: %s", ref, msg.Error.Message)
		}
	}
	return nil
}

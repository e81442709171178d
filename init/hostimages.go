package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/images"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
)

// hostConnectTimeout bounds the connection to the host engine: it runs already, it answers
// at once or not at all.
const hostConnectTimeout = 10 * time.Second

// hostImages is the loader's host engine (docs/images.md, "From the host engine"): nil
// unless a socket is mounted at [images] host_socket and instances are managed. A socket
// that does not answer, or an instances.toml that does not load, is a Host with Err: the
// status shows it and the tarballs stay the only source. The client closes when ctx ends.
func hostImages(ctx context.Context, log hclog.Logger, socket string, inst *config.Instances) *images.Host {
	if socket == "" || inst == nil {
		return nil
	}
	fi, err := os.Stat(socket)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // not mounted: the default, tarballs only
	}
	h := &images.Host{Socket: socket}
	if err == nil && fi.Mode().Type() != fs.ModeSocket {
		err = fmt.Errorf("use host engine at %s: not a socket", socket)
	}
	if err != nil {
		h.Err = err
		return h
	}
	if h.Refs, h.Err = neededImages(inst); h.Err != nil {
		return h
	}
	cctx, cancel := context.WithTimeout(ctx, hostConnectTimeout)
	defer cancel()
	c, err := docker.Connect(cctx, "unix://"+socket)
	if err != nil {
		h.Err = fmt.Errorf("use host engine: %w", err)
		return h
	}
	log.Warn("host engine socket mounted: taking the instances' images from it", "socket", socket,
		"api_version", c.APIVersion(), "images", len(h.Refs))
	context.AfterFunc(ctx, func() { _ = c.Close() })
	h.API = c
	return h
}

// neededImages are the images instances.toml's instances run as, read as the reconciler
// will read it at its first pass.
func neededImages(c *config.Instances) ([]string, error) {
	held, err := instancedir.Held(c.Root)
	if err != nil {
		return nil, fmt.Errorf("list needed images: %w", err)
	}
	cfg, err := config.LoadInstances(c.File, held, c.Ports, c.ReservedPorts...)
	if err != nil {
		return nil, fmt.Errorf("list needed images: %w", err)
	}
	return instancedir.NewImages(c).Needed(cfg), nil
}

// fetchOnChange is the reconciler's OnInstances: next (phpMyAdmin's list, if any), then,
// off the reconciler's loop, a host pass over the images of the declared instances that no
// pass has handled (a site added after boot), and a reconciler pass once it fetched some
// (the site's convergence, failed for want of its image, is retried). Without a loader,
// next alone.
func (p *loader) fetchOnChange(next func([]config.Instance), trigger func(string)) func([]config.Instance) {
	if p == nil || p.instances == nil {
		return next
	}
	naming := instancedir.NewImages(p.instances)
	return func(list []config.Instance) {
		if next != nil {
			next(list)
		}
		l := p.l.Load()
		if l == nil {
			return
		}
		refs := naming.Needed(&config.InstancesConfig{Instances: list})
		go func() {
			if got := l.Fetch(p.ctx, refs); len(got) > 0 {
				trigger("images of new instances from the host engine")
			}
		}()
	}
}

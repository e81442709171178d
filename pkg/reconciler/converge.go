package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// converge brings one instance to its definition: the database healthy, then PHP, then the
// web server, then WordPress installed, then the site answering 200. With no actions (an
// instance in shape but not known to serve, after a restart of wpinit) it first just asks
// the site, which costs no Docker call. A PHP container left as it is but running with
// another Xdebug mode than php.ini's is reloaded (USR2), never recreated.
func (w *worker) converge(ctx context.Context, in *config.Instance, p *instance.Prepared, acts []Action, current []docker.Container) (outcome, error) {
	var out outcome
	if p.XdebugReload() {
		if !hasRole(acts, instance.RolePHP) {
			if err := w.reloadRunningPHP(ctx, in.Name, p, current); err != nil {
				return out, err
			}
		}
		out.xdebug = p.XdebugMode // a PHP container (re)started below reads the file as it is
	}
	if len(acts) == 0 && !p.ActivationPending(in) {
		if lat, err := w.probeSite(ctx, in); err == nil {
			out.probe = lat
			return out, nil
		}
	}
	var err error
	out.probe, err = w.apply(ctx, in, p, acts, current, &out)
	return out, err
}

// apply runs the actions, in start order, installs WordPress, tells it the declaration when
// that changed (activate.go, recorded in out) and waits for the site; it returns the latency
// of the probe that found it serving.
func (w *worker) apply(ctx context.Context, in *config.Instance, p *instance.Prepared, acts []Action, current []docker.Container, out *outcome) (time.Duration, error) {
	log := w.log.With("instance", in.Name)
	if err := w.ensureImages(ctx, in, p, acts); err != nil {
		return 0, err
	}
	ids := map[instance.Role]string{}
	for _, spec := range p.Def.Containers {
		id, err := w.applyRole(ctx, log, p, spec, acts, current)
		if err != nil {
			return 0, err
		}
		ids[spec.Role] = id
		if err := w.waitHealthy(ctx, id, spec); err != nil {
			return 0, err
		}
	}
	// A site that answers 200 from WordPress is installed (an uninstalled one redirects to
	// its installer): a repair, containers started again, skips wp-dind-install, which runs
	// the site's PHP and is the slowest step left on a busy machine.
	lat, probeErr := w.probeSite(ctx, in)
	if probeErr != nil {
		if err := w.install(ctx, in, p, ids[instance.RolePHP]); err != nil {
			return 0, err
		}
	}
	if p.ActivationPending(in) {
		a, err := w.activate(ctx, in, p, ids[instance.RolePHP])
		if err != nil {
			return 0, err
		}
		out.activated = &a
		probeErr = errActivated // a network or a theme changes what the site answers: ask again
	}
	if probeErr == nil {
		return lat, nil
	}
	return w.waitSite(ctx, in)
}

// applyRole runs the role's actions and returns the ID of the container that now serves it.
func (w *worker) applyRole(ctx context.Context, log logger, p *instance.Prepared, spec instance.ContainerSpec, acts []Action, current []docker.Container) (string, error) {
	var main *Action
	for i := range acts {
		a := &acts[i]
		if a.Role != spec.Role {
			continue
		}
		if a.Kind == Remove {
			if err := w.stopRemove(ctx, a.ContainerID, spec.StopTimeout); err != nil {
				return "", err
			}
			continue
		}
		main = a
	}
	if main == nil {
		for _, c := range current {
			if c.Labels[docker.LabelRole] == string(spec.Role) && c.Labels[docker.LabelHash] == spec.Hash {
				return c.ID, nil
			}
		}
		return "", fmt.Errorf("%s container vanished during the pass", spec.Role)
	}
	log.Info("converging container", "container", spec.Name, "action", main.Kind, "reason", main.Reason)
	switch main.Kind {
	case Start:
		return main.ContainerID, w.eng.StartContainer(ctx, main.ContainerID)
	case Recreate:
		if err := w.stopRemove(ctx, main.ContainerID, spec.StopTimeout); err != nil {
			return "", err
		}
	}
	id, err := w.eng.CreateContainer(ctx, w.containerConfig(p, spec))
	if err != nil {
		if id != "" {
			_ = w.eng.RemoveContainer(context.WithoutCancel(ctx), id)
		}
		return "", err
	}
	return id, w.eng.StartContainer(ctx, id)
}

type logger interface {
	Info(msg string, args ...any)
}

func (w *worker) stopRemove(ctx context.Context, id string, timeout int) error {
	if err := w.eng.StopContainer(ctx, id, timeout); err != nil {
		return err
	}
	return w.eng.RemoveContainer(ctx, id)
}

// The engine's own health checks of an instance's containers (the images' HEALTHCHECK, for
// the status): every 2 minutes once healthy instead of the images' 5-10 s. Each check is an
// exec, a process run in the container through dockerd, containerd and runc, which costs the
// engine 70 to 90 ms of CPU here (docs/operations.md, "Density"), and a PHP-FPM ping starts
// an ondemand worker: with 99 sites, 300 containers checked every 30 s took about a core of
// the machine's two. A container that dies is seen at once, from the engine's events; the
// checks only find one that runs and no longer answers.
const (
	healthInterval      = 2 * time.Minute
	healthStartInterval = 2 * time.Second
)

// containerConfig turns a spec into a create request, with the secrets filled in.
func (w *worker) containerConfig(p *instance.Prepared, s instance.ContainerSpec) docker.ContainerConfig {
	cfg := docker.ContainerConfig{
		Name: s.Name, Image: s.Image, Labels: s.Labels, Network: s.Network, IP: s.IP,
		HostIP: s.HostIP, HostPort: s.HostPort, ContainerPort: instance.WebPort, CPUs: s.CPUs, Memory: s.Memory, Pids: s.Pids,
		CapDrop: s.CapDrop, CapAdd: s.CapAdd, SecurityOpt: s.SecurityOpt,
		StopSignal: s.StopSignal, StopTimeout: s.StopTimeout, ExtraHosts: s.ExtraHosts,
		HealthInterval: healthInterval, HealthStartInterval: healthStartInterval,
	}
	if s.Shared != "" {
		cfg.Also = []string{s.Shared}
	}
	for _, e := range s.Env {
		v := e.Value
		if e.Secret != "" {
			v = p.Secrets.Value(e.Secret)
		}
		cfg.Env = append(cfg.Env, e.Name+"="+v)
	}
	for _, m := range s.Mounts {
		cfg.Mounts = append(cfg.Mounts, docker.Bind{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return cfg
}

// ensureImages checks the images of the containers to create: one list call. A missing one
// is pulled only when the instance's pull policy allows it; otherwise the error names the
// make target or tarball that provides it.
func (w *worker) ensureImages(ctx context.Context, in *config.Instance, p *instance.Prepared, acts []Action) error {
	var need []instance.ContainerSpec
	for _, a := range acts {
		if a.Kind == Create || a.Kind == Recreate {
			need = append(need, *p.Def.Container(a.Role))
		}
	}
	if len(need) == 0 {
		return nil
	}
	tags, err := w.eng.ImageTags(ctx)
	if err != nil {
		return err
	}
	for _, s := range need {
		if tags[s.Image] {
			continue
		}
		if in.Pull != config.PullMissing {
			return fmt.Errorf("image %s is not loaded and pull = %q: %s", s.Image, in.Pull, w.opt.instance.Images.Source(s.Component))
		}
		w.log.Info("pulling image", "instance", in.Name, "image", s.Image)
		if err := w.eng.PullImage(ctx, s.Image); err != nil {
			return fmt.Errorf("%w (%s)", err, w.opt.instance.Images.Source(s.Component))
		}
	}
	return nil
}

// waitHealthy runs the image's wp-dind-health through docker exec until it passes, or until
// the container is no longer running.
func (w *worker) waitHealthy(ctx context.Context, id string, spec instance.ContainerSpec) error {
	return w.waitHealthyEvery(ctx, id, spec, 500*time.Millisecond)
}

// waitHealthyEvery is waitHealthy asking every interval (a wake asks more often).
func (w *worker) waitHealthyEvery(ctx context.Context, id string, spec instance.ContainerSpec, every time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Healthy)
	defer cancel()
	var last string
	for {
		ectx, ecancel := context.WithTimeout(ctx, 20*time.Second)
		res, err := w.eng.Exec(ectx, id, "", []string{"wp-dind-health"})
		ecancel()
		switch {
		case err == nil && res.ExitCode == 0:
			return nil
		case docker.IsConflict(err) || docker.IsNotFound(err):
			// Stopped, paused or removed meanwhile (by hand, or by its own crash): no check
			// will pass until a pass starts it again, so fail now and let the retry replan
			// rather than ask until the deadline, minutes away.
			return fmt.Errorf("wait for %s to be healthy: %w", spec.Name, err)
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("exit %d: %s", res.ExitCode, lastLine(res.Output))
		}
		if err := sleep(ctx, every); err != nil {
			return fmt.Errorf("wait for %s to be healthy: %w (last check: %s)", spec.Name, err, last)
		}
	}
}

// install runs the PHP image's wp-dind-install as www-data (idempotent: 0 when installed).
// The admin password goes on its standard input, never in its arguments or environment,
// which `ps` on the host and `docker inspect` show. What it prints goes to the log as it
// comes, within installOutputLimit.
func (w *worker) install(ctx context.Context, in *config.Instance, p *instance.Prepared, phpID string) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Install)
	defer cancel()
	pw := p.Secrets.AdminPassword
	log := w.log.With("instance", in.Name, "command", "wp-dind-install")
	stdout := &outputLog{log: log, stream: "stdout", secret: pw}
	stderr := &outputLog{log: log, stream: "stderr", secret: pw}
	res, err := w.eng.ExecStream(ctx, phpID, docker.ExecIO{
		User: "www-data",
		Cmd: []string{"wp-dind-install", "--url", in.URL(), "--title", in.Title, "--admin-user", in.AdminUser,
			"--admin-email", in.AdminEmail, "--admin-password-stdin"},
		Stdin:  strings.NewReader(pw + "\n"),
		Stdout: stdout, Stderr: stderr, MaxOutput: installOutputLimit,
	})
	stdout.Flush()
	stderr.Flush()
	if err != nil {
		return fmt.Errorf("install wordpress: %w", err)
	}
	if res.ExitCode != 0 {
		out := strings.ReplaceAll(res.Output, pw, "[redacted]")
		return fmt.Errorf("install wordpress: wp-dind-install exit %d: %s", res.ExitCode, lastLine(out))
	}
	return nil
}

// siteURL is where wpinit asks the site: its published port, or for a site without one its
// web server on its network (wpinit's container routes to every instance network).
func (w *worker) siteURL(in *config.Instance) string {
	if in.Port == 0 {
		return "http://" + w.opt.instance.Network.Instance(in.ID).IP(instance.RoleWeb) + "/"
	}
	return fmt.Sprintf("http://%s:%d/", w.opt.probeAddress, in.Port)
}

// siteHost is the Host of the probe: the port URL's, else the site's first name.
func (w *worker) siteHost(in *config.Instance) string {
	if h := in.PortHost(); h != "" {
		return h
	}
	return in.Names()[0]
}

// waitSite asks the site until it answers 200 from an installed WordPress, and returns
// how long that answer took.
func (w *worker) waitSite(ctx context.Context, in *config.Instance) (time.Duration, error) {
	return w.waitSiteEvery(ctx, in, 500*time.Millisecond)
}

// waitSiteEvery is waitSite asking every interval.
func (w *worker) waitSiteEvery(ctx context.Context, in *config.Instance, every time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.HTTP)
	defer cancel()
	for {
		lat, err := w.probeSite(ctx, in)
		if err == nil {
			return lat, nil
		}
		if serr := sleep(ctx, every); serr != nil {
			return 0, fmt.Errorf("wait for %s: %w", in.URL(), err)
		}
	}
}

// probeSite is one probe of the site, timed.
func (w *worker) probeSite(ctx context.Context, in *config.Instance) (time.Duration, error) {
	start := time.Now()
	err := w.probe(ctx, w.siteURL(in), w.siteHost(in))
	return time.Since(start), err
}

// probeWordPress is one GET of the site's home page with the Host WordPress knows; redirects
// are not followed (an install page redirects), and the page must come from WordPress.
func probeWordPress(ctx context.Context, client *http.Client, url, host string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d %s", url, resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(string(body), `content="WordPress`) {
		return fmt.Errorf("GET %s: 200 but not a WordPress page", url)
	}
	return nil
}

// removeInstance stops and removes a removed instance's containers, web server first, then
// archives its folder (data and config kept).
func (w *worker) removeInstance(ctx context.Context, name string, acts []Action) error {
	order := func(a Action) int { return -slices.Index(instance.Roles, a.Role) }
	slices.SortFunc(acts, func(a, b Action) int { return order(a) - order(b) })
	for _, a := range acts {
		if err := w.stopRemove(ctx, a.ContainerID, instance.StopTimeout(a.Role)); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	_, err := instance.Archive(w.layout(name), time.Now())
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func containersOf(a Actual, name string) []docker.Container {
	var out []docker.Container
	for _, c := range a.Containers {
		if c.Labels[docker.LabelInstance] == name {
			out = append(out, c)
		}
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[len(s)-300:]
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

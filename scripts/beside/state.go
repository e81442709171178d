package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// The modes of a state: who made the container named wpinit.
const (
	modeBlocker = "blocker"          // up started it: down removes it
	modeOther   = "other-blocker"    // another run's blocker: left alone
	modeRun     = "make-run"         // a user's wp-dind: left alone, its instances too
	modeStopped = "make-run-stopped" // a user's wp-dind, not running
)

// state is what up records and check compares.
type state struct {
	path      string
	Mode      string            `json:"mode"`
	ID        string            `json:"id"`
	Run       string            `json:"run,omitempty"` // the blocker label's value, when up made it
	StartedAt string            `json:"started_at"`
	Restarts  int               `json:"restarts"`
	Ports     []int             `json:"ports"`               // host ports it publishes
	Instances map[string]string `json:"instances,omitempty"` // instance container name -> ID
	Sites     map[string]int    `json:"sites,omitempty"`     // site URL -> status code
}

func (st *state) describe() string {
	switch st.Mode {
	case modeBlocker:
		return fmt.Sprintf("the blocker %.12s (%d ports held)", st.ID, len(st.Ports))
	case modeOther:
		return fmt.Sprintf("another run's blocker %.12s", st.ID)
	case modeRun:
		return fmt.Sprintf("make run's wpinit %.12s (%d instance containers, %d sites)", st.ID, len(st.Instances), len(st.Sites))
	}
	return fmt.Sprintf("make run's wpinit %.12s (stopped)", st.ID)
}

// up starts the blocker or records the container named wpinit, and writes the state.
func up(path, image string) (*state, error) {
	c, err := inspect()
	var st *state
	switch {
	case errors.Is(err, errNoContainer):
		if st, err = startBlocker(image); err == nil {
			if c, err = inspect(); err != nil {
				err = errors.Join(err, down(st))
			}
		}
	case err == nil:
		st, err = recordExisting(c)
	}
	if err != nil {
		return nil, err
	}
	st.path, st.StartedAt, st.Restarts, st.Ports = path, c.State.StartedAt, c.RestartCount, c.sortedHostPorts()
	if st.Mode == modeBlocker && st.ID != c.ID {
		return nil, errors.Join(fmt.Errorf("the container named %s is %.12s, not the blocker %.12s just started", name, c.ID, st.ID), down(st))
	}
	if err := st.write(); err != nil {
		return nil, errors.Join(err, down(st))
	}
	logf("up: %s", st.describe())
	return st, nil
}

// recordExisting records a container named wpinit that was there before.
func recordExisting(c *container) (*state, error) {
	st := &state{ID: c.ID}
	switch {
	case c.Config.Labels[blockerLabel] != "":
		st.Mode = modeOther
	case !c.State.Running:
		st.Mode = modeStopped
	default:
		st.Mode = modeRun
		var err error
		if st.Instances, st.Sites, err = readInstances(c); err != nil {
			return nil, fmt.Errorf("record make run's instances: %w", err)
		}
	}
	return st, nil
}

// readInstances is, through ctl inside the container, each instance's container IDs and
// what its site answers on the host port wpinit publishes it on.
func readInstances(c *container) (map[string]string, map[string]int, error) {
	var st struct {
		Instances *struct {
			Instances []struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"instances"`
		} `json:"instances"`
	}
	if err := ctlJSON(&st, "status"); err != nil {
		return nil, nil, err
	}
	ids, sites := map[string]string{}, map[string]int{}
	if st.Instances == nil {
		return ids, sites, nil
	}
	ports := c.hostPorts()
	for _, in := range st.Instances.Instances {
		var detail struct {
			Containers []struct {
				Name string `json:"name"`
				ID   string `json:"id"`
			} `json:"containers"`
		}
		if err := ctlJSON(&detail, "status", in.Name); err != nil {
			return nil, nil, err
		}
		for _, ct := range detail.Containers {
			ids[ct.Name] = ct.ID
		}
		code, err := siteAnswer(in.URL, ports)
		if err != nil {
			return nil, nil, err
		}
		sites[in.URL] = code
	}
	return ids, sites, nil
}

// siteAnswer is the status code of a site whose URL is http://localhost:PORT: asked on the
// host port published for PORT, with the Host the site knows itself by.
func siteAnswer(site string, ports map[int]int) (int, error) {
	u, err := url.Parse(site)
	if err != nil {
		return 0, fmt.Errorf("site URL %q: %w", site, err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return 0, fmt.Errorf("site URL %q has no port", site)
	}
	host, ok := ports[port]
	if !ok {
		return 0, fmt.Errorf("site %s: port %d is not published on the host", site, port)
	}
	code, _, err := get(host, u.Host)
	if err != nil {
		return 0, fmt.Errorf("site %s: %w", site, err)
	}
	return code, nil
}

// check compares the container named wpinit with st: same ID, same start, every port still
// held; the blocker still answering on each; make run's instances with the same container
// IDs and its sites answering as before.
func check(st *state) error {
	c, err := inspect()
	if err != nil {
		return fmt.Errorf("check %s: %w", st.describe(), err)
	}
	var errs []error
	if c.ID != st.ID {
		errs = append(errs, fmt.Errorf("the container named %s is %.12s, was %.12s", name, c.ID, st.ID))
	}
	if c.State.StartedAt != st.StartedAt || c.RestartCount != st.Restarts {
		errs = append(errs, fmt.Errorf("%s restarted: started %s (restarts %d), was %s (%d)", name, c.State.StartedAt, c.RestartCount, st.StartedAt, st.Restarts))
	}
	if st.Mode != modeStopped && !c.State.Running {
		errs = append(errs, fmt.Errorf("%s is not running any more", name))
	}
	if got := c.sortedHostPorts(); !slices.Equal(got, st.Ports) {
		errs = append(errs, fmt.Errorf("%s publishes %d ports, published %d", name, len(got), len(st.Ports)))
	}
	if st.Mode != modeStopped {
		for _, p := range st.Ports {
			if err := held(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, checkAnswers(st, c)...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s was touched:\n%w", st.describe(), err)
	}
	logf("check: %s untouched", st.describe())
	return nil
}

// checkAnswers: the blocker answers on every port; make run's instances and sites are as
// they were.
func checkAnswers(st *state, c *container) []error {
	var errs []error
	switch st.Mode {
	case modeBlocker:
		for _, p := range st.Ports {
			if err := blockerAnswers(p); err != nil {
				errs = append(errs, err)
			}
		}
	case modeRun:
		ids, sites, err := readInstances(c)
		if err != nil {
			return []error{err}
		}
		for _, n := range slices.Sorted(maps.Keys(st.Instances)) {
			if ids[n] != st.Instances[n] {
				errs = append(errs, fmt.Errorf("instance container %s is %.12s, was %.12s", n, ids[n], st.Instances[n]))
			}
		}
		for _, u := range slices.Sorted(maps.Keys(st.Sites)) {
			if sites[u] != st.Sites[u] {
				errs = append(errs, fmt.Errorf("site %s answers %d, answered %d", u, sites[u], st.Sites[u]))
			}
		}
	}
	return errs
}

// down removes the blocker when st's up started it; anything else stays as it is.
func down(st *state) error {
	if st.Mode != modeBlocker {
		return nil
	}
	if err := removeBlocker(st); err != nil {
		return err
	}
	logf("down: the blocker %.12s removed", st.ID)
	if st.path != "" {
		_ = os.Remove(st.path)
	}
	return nil
}

func (st *state) write() error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.WriteFile(st.path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func readState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state (run beside up first): %w", err)
	}
	st := &state{path: path}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("decode state %s: %w", path, err)
	}
	if st.ID == "" || st.Mode == "" {
		return nil, fmt.Errorf("state %s names no container", path)
	}
	return st, nil
}

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// validate checks w whole, recording every problem in p, and computes w.Order.
func (w *Wpinit) validate(p *problems) {
	if !slices.Contains(logLevels, w.Wpinit.LogLevel) {
		p.add("wpinit.log_level", "unknown level %q: use one of %s", w.Wpinit.LogLevel, strings.Join(logLevels, ", "))
	}
	if w.Wpinit.Socket == "" || !filepath.IsAbs(w.Wpinit.Socket) {
		p.add("wpinit.socket", "must be an absolute path")
	}
	if w.Wpinit.LogDir == "" || !filepath.IsAbs(w.Wpinit.LogDir) {
		p.add("wpinit.log_dir", "must be an absolute path")
	}
	w.validateBoot(p)
	names := w.namesInFileOrder(p.lines)
	for _, name := range names {
		w.Services[name].validate(p, w.Services)
	}
	w.Order = w.dependencyOrder(p, names)
}

// namesInFileOrder lists the services as they appear in the file, so that problems are
// reported top to bottom.
func (w *Wpinit) namesInFileOrder(lines *lineIndex) []string {
	names := make([]string, 0, len(w.Services))
	for name := range w.Services {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if la, lb := lines.line("services."+a), lines.line("services."+b); la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	return names
}

func (s *Service) validate(p *problems, all map[string]*Service) {
	key := "services." + s.Name
	if err := ValidName(s.Name); err != nil {
		p.add(key, "%v", err)
	}
	s.validateProcess(p, key)
	s.validatePolicy(p, key)
	for i, dep := range s.DependsOn {
		switch {
		case dep == s.Name:
			p.add(key+".depends_on", "depends on itself")
		case all[dep] == nil:
			p.add(key+".depends_on", "unknown service %q", dep)
		case slices.Index(s.DependsOn, dep) != i:
			p.add(key+".depends_on", "%q listed twice", dep)
		}
	}
	s.validateReady(p, key+".ready")
	if s.Log.MaxSize <= 0 {
		p.add(key+".log.max_size", "must be positive")
	}
	if s.Log.MaxFiles < 0 || s.Log.MaxFiles > MaxLogFiles {
		p.add(key+".log.max_files", "%d out of range 0-%d", s.Log.MaxFiles, MaxLogFiles)
	}
	if s.Log.RingLines < 0 || s.Log.RingLines > MaxRingLines {
		p.add(key+".log.ring_lines", "%d out of range 0-%d", s.Log.RingLines, MaxRingLines)
	}
}

// validateProcess checks what is needed to spawn the process and resolves the command and
// user, so that a start fails only for reasons the file cannot show.
func (s *Service) validateProcess(p *problems, key string) {
	if s.Command == "" {
		p.add(key+".command", "missing: every service needs a command")
	} else if path, err := lookCommand(s.Command); err != nil {
		p.add(key+".command", "%v", err)
	} else {
		s.Path = path
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			p.add(key+".env", "invalid variable name %q", k)
		}
	}
	if s.Dir != "" && !filepath.IsAbs(s.Dir) {
		p.add(key+".dir", "must be an absolute path")
	}
	if s.User != "" {
		cred, err := lookupUser(s.User)
		if err != nil {
			p.add(key+".user", "%w", err)
		}
		s.Credential = cred
	}
}

func (s *Service) validatePolicy(p *problems, key string) {
	switch s.Restart {
	case RestartAlways, RestartOnFailure, RestartNever:
	default:
		p.add(key+".restart", "unknown policy %q: use always, on-failure or never", s.Restart)
	}
	for _, c := range s.ExitCodes {
		if c < 0 || c > 255 {
			p.add(key+".exit_codes", "exit code %d out of range 0-255", c)
		}
	}
	if s.StartRetries < 0 {
		p.add(key+".start_retries", "must not be negative")
	}
	if s.Backoff <= 0 {
		p.add(key+".backoff", "must be positive")
	}
	if s.BackoffMax < s.Backoff {
		p.add(key+".backoff_max", "must not be below backoff (%s)", s.Backoff.D())
	}
}

func (s *Service) validateReady(p *problems, key string) {
	r := s.Ready
	kinds := 0
	for _, set := range []bool{r.Notify, r.TCP != "", r.HTTP != "", r.Unix != "", len(r.Command) > 0} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		p.add(key, "%d readiness kinds set: use at most one of notify, tcp, http, unix, command", kinds)
	}
	if r.TCP != "" {
		if _, _, err := net.SplitHostPort(r.TCP); err != nil {
			p.add(key+".tcp", "invalid address %q: use host:port", r.TCP)
		}
	}
	if r.HTTP != "" {
		if u, err := url.Parse(r.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(key+".http", "invalid URL %q: use http://host:port/path", r.HTTP)
		}
	}
	if r.Unix != "" && !filepath.IsAbs(r.Unix) {
		p.add(key+".unix", "must be an absolute path")
	}
	if len(r.Command) > 0 {
		if path, err := lookCommand(r.Command[0]); err != nil {
			p.add(key+".command", "%v", err)
		} else {
			s.ReadyPath = path
		}
	}
	if r.Timeout <= 0 {
		p.add(key+".timeout", "must be positive")
	}
	if r.Interval <= 0 {
		p.add(key+".interval", "must be positive")
	}
}

// lookCommand returns an absolute command as is and looks a bare name up in PATH.
func lookCommand(cmd string) (string, error) {
	if filepath.IsAbs(cmd) {
		return cmd, nil
	}
	if strings.Contains(cmd, "/") {
		return "", fmt.Errorf("relative path %q: use an absolute path or a name found in PATH", cmd)
	}
	path, err := exec.LookPath(cmd)
	if err != nil {
		return "", fmt.Errorf("command %q not found in PATH", cmd)
	}
	return path, nil
}

// ErrUnknownUser is a service's user that this machine does not have. Users are looked up
// where the check runs: a file meant for another machine (the wp-dind image) may name
// users only it has.
var ErrUnknownUser = errors.New("unknown user")

// lookupUser resolves "name", "uid" or "uid:gid". A uid without a gid takes the user's
// primary group when the user is known, and the uid itself otherwise.
func lookupUser(spec string) (*Credential, error) {
	name, gidText, hasGID := strings.Cut(spec, ":")
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil {
		cred := &Credential{UID: uint32(uid), GID: uint32(uid)}
		if u, err := user.LookupId(name); err == nil {
			cred = credentialOf(u)
		}
		if hasGID {
			gid, err := strconv.ParseUint(gidText, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("invalid gid %q in %q: use uid:gid with numbers", gidText, spec)
			}
			cred.GID, cred.Groups = uint32(gid), nil
		}
		return cred, nil
	}
	if hasGID {
		return nil, fmt.Errorf("invalid user %q: use a user name, a uid or uid:gid", spec)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownUser, name)
	}
	return credentialOf(u), nil
}

func credentialOf(u *user.User) *Credential {
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &Credential{UID: uint32(uid), GID: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return cred
}

// dependencyOrder sorts the services so that each comes after its dependencies, keeping
// file order otherwise, and reports every dependency cycle once.
func (w *Wpinit) dependencyOrder(p *problems, names []string) []string {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order, stack []string
	var visit func(name string)
	visit = func(name string) {
		state[name] = visiting
		stack = append(stack, name)
		for _, dep := range w.Services[name].DependsOn {
			switch {
			case w.Services[dep] == nil || dep == name:
				// reported by Service.validate
			case state[dep] == visiting:
				cycle := append(slices.Clone(stack[slices.Index(stack, dep):]), dep)
				p.add("services."+dep+".depends_on", "dependency cycle: %s", strings.Join(cycle, " -> "))
			case state[dep] == unvisited:
				visit(dep)
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		order = append(order, name)
	}
	for _, name := range names {
		if state[name] == unvisited {
			visit(name)
		}
	}
	return order
}

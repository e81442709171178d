package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Env is what a loaded instances.toml is checked against besides its own text: the projects
// folder its code comes from, and the names wpinit.toml gives its services (`ctl logs NAME`
// serves both, so an instance may not take a service's name).
type Env struct {
	Projects string   // instances.projects in wpinit.toml; "" refuses every plugin, theme and mount
	Services []string // service names
}

// Check checks the instances against env, every problem at once with its line, and sets the
// Path of each code mount: its source joined to the projects folder with every link
// resolved, which must exist and stay inside the folder. Plugins and themes must be folders.
// The resolved path is what gets mounted: dockerd would follow a link in a bind's source.
func (c *InstancesConfig) Check(env Env) error {
	p := &problems{file: c.File, lines: c.lines}
	root, rootErr := projectsRoot(env.Projects)
	for i := range c.Instances {
		in := &c.Instances[i]
		if slices.Contains(env.Services, in.Name) {
			p.add(in.key+".name", "%q is the name of a service of wpinit.toml: `ctl logs NAME` serves both, choose another", in.Name)
		}
		for j := range in.Code {
			code := &in.Code[j]
			if rootErr != nil {
				p.add(code.key, "%v", rootErr)
				continue
			}
			path, err := resolveCode(root, code)
			if err != nil {
				p.add(code.key, "%v", err)
				continue
			}
			code.Path = path
		}
	}
	for _, m := range c.matrices {
		if slices.Contains(env.Services, m.name) {
			p.add(m.key+".name", "%q is the name of a service of wpinit.toml: `ctl status NAME` and `ctl logs NAME` serve both, choose another", m.name)
		}
	}
	dedupe(p)
	return p.err()
}

// projectsRoot is the projects folder with its links resolved.
func projectsRoot(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("no projects folder: set instances.projects in wpinit.toml (make run mounts one at /projects)")
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("projects folder %s: %w", dir, unwrapPath(err))
	}
	return root, nil
}

// resolveCode finds code's source in root, links resolved, and checks what it is.
func resolveCode(root string, code *Code) (string, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(root, code.Source))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist in the projects folder %s", code.Source, root)
		}
		return "", fmt.Errorf("%s: %w", code.Source, unwrapPath(err))
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s leads to %s, outside the projects folder %s", code.Source, real, root)
	} else if rel == "." {
		return "", fmt.Errorf("%s is the projects folder itself: name a folder inside it", code.Source)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("%s: %w", code.Source, unwrapPath(err))
	}
	if code.Kind != CodeMount && !fi.IsDir() {
		return "", fmt.Errorf("%s is not a folder: a %s is a folder", code.Source, code.Kind)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is neither a folder nor a regular file", code.Source)
	}
	return real, nil
}

// unwrapPath drops the operation and path of an fs.PathError, which the message names already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dedupe keeps the first of equal problems: an inherited plugin of [defaults] that does not
// exist is one problem, not one per instance.
func dedupe(p *problems) {
	seen := map[string]bool{}
	p.errs = slices.DeleteFunc(p.errs, func(err error) bool {
		s := err.Error()
		if seen[s] {
			return true
		}
		seen[s] = true
		return false
	})
	slices.SortStableFunc(p.errs, func(a, b error) int { return lineOf(a) - lineOf(b) })
}

package config

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// The developer's own code in a site: `plugins`, `themes` and `mounts` of instances.toml name
// folders (or, for mounts, files) of the projects folder (wpinit.toml's instances.projects,
// /projects in wp-dind), bind-mounted read-only into the site's PHP and web containers. Their
// shape is checked here, with the file; that each exists and stays inside the projects folder
// is checked by InstancesConfig.Check, against the folder itself.

// CodeKind says what a mounted folder is to WordPress.
type CodeKind string

const (
	CodePlugin CodeKind = "plugin" // wp-content/plugins/BASE, activated
	CodeTheme  CodeKind = "theme"  // wp-content/themes/BASE; the first one is switched to
	CodeMount  CodeKind = "mount"  // anywhere under the document root, as written
)

// Code is one folder or file of the projects folder mounted into a site.
type Code struct {
	Kind   CodeKind
	Source string // as written: relative to the projects folder ("my-plugin", "clients/acme/theme")
	Target string // relative to the document root ("wp-content/plugins/my-plugin")
	Path   string `json:",omitempty"` // absolute, links resolved; set by InstancesConfig.Check
	key    string // the TOML key that declares it, for errors
}

// Name is the folder WordPress knows it by: the last element of its target.
func (c Code) Name() string { return path.Base(c.Target) }

// Multisite is `multisite`: a single site, or a network of sites in subfolders or subdomains.
type Multisite string

const (
	MultisiteNone         Multisite = ""
	MultisiteSubdirectory Multisite = "subdirectory"
	MultisiteSubdomain    Multisite = "subdomain"
)

// multisiteOff is how an instance turns off a multisite its [defaults] ask for.
const multisiteOff = "none"

// multisite resolves `multisite`: the instance's, else the defaults'.
func (v *validator) multisite(key string, own, def string) Multisite {
	k, s := key+".multisite", own
	if s == "" {
		k, s = "defaults.multisite", def
	}
	switch s {
	case "", multisiteOff:
		return MultisiteNone
	case string(MultisiteSubdirectory), string(MultisiteSubdomain):
		return Multisite(s)
	}
	v.addOnce(k, "unknown multisite %q: use %q, %q or %q", s, MultisiteSubdirectory, MultisiteSubdomain, multisiteOff)
	return MultisiteNone
}

// code resolves the instance's plugins, themes and mounts (each list or table of the instance
// replaces the defaults' one when written, even empty) and checks their shape.
func (v *validator) code(key string, e, d *InstanceSettings) []Code {
	var out []Code
	lists := []struct {
		kind      CodeKind
		field     string
		own, def  []string
		targetDir string
	}{
		{CodePlugin, "plugins", e.Plugins, d.Plugins, "wp-content/plugins"},
		{CodeTheme, "themes", e.Themes, d.Themes, "wp-content/themes"},
	}
	for _, l := range lists {
		k, list := key+"."+l.field, l.own
		if list == nil {
			k, list = "defaults."+l.field, l.def
		}
		for i, src := range list {
			c := Code{Kind: l.kind, Source: src, key: fmt.Sprintf("%s[%d]", k, i)}
			if v.source(c.key, src) {
				c.Target = l.targetDir + "/" + path.Base(src)
			}
			out = append(out, c)
		}
	}
	k, mounts := key+".mounts", e.Mounts
	if mounts == nil {
		k, mounts = "defaults.mounts", d.Mounts
	}
	for _, target := range slices.Sorted(maps.Keys(mounts)) {
		c := Code{Kind: CodeMount, Source: mounts[target], Target: target, key: k + "." + target}
		v.source(c.key, c.Source)
		v.target(c.key, target)
		out = append(out, c)
	}
	v.distinctTargets(out)
	return out
}

// source checks a path relative to the projects folder, as written: what could leave the
// folder before any link is looked at, or break a Docker bind (a colon), is refused.
func (v *validator) source(key, src string) bool {
	switch {
	case src == "":
		v.addOnce(key, "empty path: name a folder of the projects folder (instances.projects in wpinit.toml)")
	case strings.HasPrefix(src, "/"):
		v.addOnce(key, "%q is absolute: write it relative to the projects folder (instances.projects in wpinit.toml)", src)
	case slices.Contains(strings.Split(src, "/"), ".."):
		v.addOnce(key, "%q leaves the projects folder (instances.projects in wpinit.toml)", src)
	case path.Clean(src) != src || src == ".":
		v.addOnce(key, "%q is not a clean relative path: write it like \"my-plugin\" or \"clients/acme/theme\"", src)
	case strings.ContainsAny(src, ":,") || controlChar(src) >= 0:
		v.addOnce(key, "%q holds a colon, a comma or a control character, which a Docker bind mount cannot carry", src)
	default:
		return true
	}
	return false
}

// target checks a mount's place under the document root.
func (v *validator) target(key, target string) {
	switch {
	case target == "" || target == "." || strings.HasPrefix(target, "/") ||
		slices.Contains(strings.Split(target, "/"), "..") || path.Clean(target) != target:
		v.addOnce(key, "mount target %q: write a clean path relative to the document root, like \"wp-content/mu-plugins/tools\"", target)
	case strings.ContainsAny(target, ":,") || controlChar(target) >= 0:
		v.addOnce(key, "mount target %q holds a colon, a comma or a control character, which a Docker bind mount cannot carry", target)
	}
}

// distinctTargets refuses two mounts at one place (two plugins from folders of one name).
func (v *validator) distinctTargets(code []Code) {
	seen := map[string]string{}
	for _, c := range code {
		if c.Target == "" {
			continue
		}
		if other, dup := seen[c.Target]; dup {
			v.addOnce(c.key, "%s is mounted at %s by %s already", c.Source, c.Target, other)
			continue
		}
		seen[c.Target] = c.key
	}
}

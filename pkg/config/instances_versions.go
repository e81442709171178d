package config

import (
	"fmt"
	"slices"
	"strings"
)

// Flavor names a family of images: the PHP runtime, a database engine or a web server.
type Flavor string

const (
	FlavorPHP     Flavor = "php"
	FlavorMariaDB Flavor = "mariadb"
	FlavorMySQL   Flavor = "mysql"
	FlavorNginx   Flavor = "nginx"
	FlavorApache  Flavor = "apache"
)

// flavorInfo is what wpinit knows statically about one flavor: the versions it can run
// (major.minor, as instances.toml names them), those that `make images` builds offline from
// Debian, and the version used when a file names the flavor without one.
type flavorInfo struct {
	versions []string
	offline  []string
	fallback string
}

var flavors = map[Flavor]flavorInfo{
	FlavorPHP:     {versions: []string{"7.4", "8.0", "8.1", "8.2", "8.3", "8.4"}, offline: []string{"7.4", "8.2", "8.4"}, fallback: "8.4"},
	FlavorMariaDB: {versions: []string{"10.5", "10.11", "11.8"}, offline: []string{"10.5", "10.11", "11.8"}, fallback: "11.8"},
	FlavorMySQL:   {versions: []string{"5.6", "5.7", "8.0"}, fallback: "8.0"},
	FlavorNginx:   {versions: []string{"1.18", "1.22", "1.26", "1.27"}, offline: []string{"1.18", "1.22", "1.26"}, fallback: "1.26"},
	FlavorApache:  {versions: []string{"2.4"}, offline: []string{"2.4"}, fallback: "2.4"},
}

// dbFlavors and webFlavors are the values `db` and `web` accept.
var (
	dbFlavors  = []Flavor{FlavorMariaDB, FlavorMySQL}
	webFlavors = []Flavor{FlavorNginx, FlavorApache}
)

// Versions lists the major.minor versions wpinit can run for f.
func Versions(f Flavor) []string { return slices.Clone(flavors[f].versions) }

// checkFlavorVersion reports why version is not runnable for f, or nil.
func checkFlavorVersion(f Flavor, version string) error {
	info, ok := flavors[f]
	if !ok {
		return fmt.Errorf("unknown flavor %q", f)
	}
	if !slices.Contains(info.versions, version) {
		return fmt.Errorf("unknown %s version %q: use one of %s", f, version, strings.Join(info.versions, ", "))
	}
	return nil
}

// Component is one container's software: a flavor at a major.minor version.
type Component struct {
	Flavor  Flavor
	Version string
}

// Dir is the name of the component's version-specific folders: "php-8.4", "mariadb-11.8".
func (c Component) Dir() string { return string(c.Flavor) + "-" + c.Version }

// Image is the image reference the reconciler runs: "wp-php:8.4", "wp-mariadb:11.8".
func (c Component) Image() string { return "wp-" + string(c.Flavor) + ":" + c.Version }

// String is the human form, "mariadb 11.8".
func (c Component) String() string { return string(c.Flavor) + " " + c.Version }

// Offline reports whether `make images` builds this component here, from Debian packages.
func (c Component) Offline() bool { return slices.Contains(flavors[c.Flavor].offline, c.Version) }

// Source tells a user where the component's image comes from, for the error shown when the
// image is missing: the make target that builds it, or the tarball to place in /shared-images.
func (c Component) Source() string {
	tarball := fmt.Sprintf("/shared-images/wp-%s-%s.tar", c.Flavor, c.Version)
	if c.Offline() {
		return fmt.Sprintf("build it with `make images` (or put %s in the shared images folder)", tarball)
	}
	return fmt.Sprintf("it is not built offline: save the upstream-based image as %s (docker save %s -o ...)", tarball, c.Image())
}

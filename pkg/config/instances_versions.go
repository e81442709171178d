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
	FlavorMySQL:   {versions: []string{"5.6", "5.7", "8.0", "9.7"}, offline: []string{"9.7"}, fallback: "8.0"},
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

// FlavorVersions is one row of the version table: what wpinit runs of a flavor. This table
// is the source; images/versions.txt (what `make images` builds) and the table in
// docs/instances.md are held against it by a test.
type FlavorVersions struct {
	Flavor   Flavor
	Versions []string // runnable, as instances.toml names them
	Offline  []string // built by `make images` from Debian packages
	Default  string   // used when a file names the flavor without a version
}

// VersionTable lists every flavor, PHP first, then the databases, then the web servers.
func VersionTable() []FlavorVersions {
	var out []FlavorVersions
	for _, f := range []Flavor{FlavorPHP, FlavorMariaDB, FlavorMySQL, FlavorNginx, FlavorApache} {
		info := flavors[f]
		out = append(out, FlavorVersions{Flavor: f, Versions: slices.Clone(info.versions), Offline: slices.Clone(info.offline), Default: info.fallback})
	}
	return out
}

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

// String is the human form, "mariadb 11.8".
func (c Component) String() string { return string(c.Flavor) + " " + c.Version }

// Offline reports whether `make images` builds this component here, from Debian packages.
func (c Component) Offline() bool { return slices.Contains(flavors[c.Flavor].offline, c.Version) }

package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Bounds of the instance ids instances.toml accepts: instance N has the Nth /24 of
// [instances] subnets. Its ports are bounded by [instances] ports.
const (
	MinInstanceID = 1
	MaxInstanceID = 254
)

// ReservedInstanceNames are folder names under the instances root that are not instances:
// backups/ holds the backup archives (pkg/instance.BackupsDir).
var ReservedInstanceNames = []string{"backups"}

// InstancesFile is instances.toml as written: `version = 1`, a [defaults] table and one
// [[instance]] table per WordPress site. Every field of [defaults] may be set per instance.
type InstancesFile struct {
	Version  int              `toml:"version"`
	Defaults InstanceSettings `toml:"defaults"`
	Instance []InstanceEntry  `toml:"instance"`
	Matrix   []MatrixEntry    `toml:"matrix"` // matrix.go
}

// InstanceSettings are the fields [defaults] and [[instance]] share. Empty means "inherit".
type InstanceSettings struct {
	PHP           string            `toml:"php"`
	DB            string            `toml:"db"`
	DBVersion     string            `toml:"db_version"`
	Web           string            `toml:"web"`
	WebVersion    string            `toml:"web_version"`
	SharedNetwork *bool             `toml:"shared_network"`
	Xdebug        *bool             `toml:"xdebug"`
	Pull          string            `toml:"pull"`
	AdminUser     string            `toml:"admin_user"`
	AdminEmail    string            `toml:"admin_email"`
	Limits        LimitsEntry       `toml:"limits"`
	PHPIni        map[string]string `toml:"php_ini"`
	MyCnf         map[string]string `toml:"my_cnf"`
	PublishPort   *bool             `toml:"publish_port"` // false: reached by name only (instances_names.go)
	SleepAfter    *Duration         `toml:"sleep_after"`  // idle time before the site sleeps; "0s": never
	PHPFPM        map[string]string `toml:"php_fpm"`
	// The developer's code (code.go): folders of the projects folder, relative to it.
	Plugins      []string          `toml:"plugins"`
	Themes       []string          `toml:"themes"`
	Mounts       map[string]string `toml:"mounts"`        // target under the document root -> source
	BackupMounts *bool             `toml:"backup_mounts"` // backups hold the mounted code too
	Multisite    string            `toml:"multisite"`     // subdirectory, subdomain, none
}

// InstanceEntry is one [[instance]] table. ID and Port are nil when omitted (assigned); a
// written 0 is out of range like any other value.
type InstanceEntry struct {
	Name      Name     `toml:"name"`
	ID        *int     `toml:"id"`
	Port      *int     `toml:"port"`
	Title     string   `toml:"title"`
	Hostnames []string `toml:"hostnames"` // names besides NAME.localhost
	From      string   `toml:"from"`      // "SRC" or "SRC@LABEL": start from that data, at creation only (instances_from.go)
	InstanceSettings
	key string // "instance[N]", or "matrix[N]" for a matrix's instance: where errors point
}

// id is the written id, 0 when omitted.
func (e *InstanceEntry) id() int { return deref(e.ID) }

// port is the written port, 0 when omitted.
func (e *InstanceEntry) port() int { return deref(e.Port) }

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// LimitsEntry holds per-container limits: limits.db, limits.php, limits.web.
type LimitsEntry struct {
	DB  LimitEntry `toml:"db"`
	PHP LimitEntry `toml:"php"`
	Web LimitEntry `toml:"web"`
}

// LimitEntry is one container's limits; zero inherits.
type LimitEntry struct {
	CPUs   float64 `toml:"cpus"`
	Memory Size    `toml:"memory"`
	Pids   Pids    `toml:"pids"`
}

// PullPolicy says whether wpinit may pull a missing image. The default never pulls: images
// come from `make images` or from tarballs in /shared-images.
type PullPolicy string

const (
	PullNever   PullPolicy = "never"
	PullMissing PullPolicy = "missing"
)

// Limit is one container's resolved limits; 0 means unlimited (CPUs, Memory). Pids is
// always set: a container without a pids limit could exhaust the engine's processes.
type Limit struct {
	CPUs   float64
	Memory int64
	Pids   int64
}

// Limits are the resolved limits of an instance's three containers.
type Limits struct{ DB, PHP, Web Limit }

// Instance is one instance after defaults are applied and ids and ports are assigned.
type Instance struct {
	Name       string
	ID         int // its network: [instances] network_prefix + ID, the ID-th /24 of subnets
	Port       int // host port of the web server; 0: not published (publish_port = false)
	Title      string
	From       string `json:",omitempty"` // the declared `from`, "" for none; applied at creation only
	PHP        Component
	DB         Component
	Web        Component
	Shared     bool // also on the shared network
	Xdebug     bool
	Pull       PullPolicy
	AdminUser  string
	AdminEmail string
	Limits     Limits
	PHPIni     map[string]string // extra php.ini settings, appended to the generated file
	MyCnf      map[string]string // extra [mysqld] settings, appended to the generated file
	PHPFPM     map[string]string // extra PHP-FPM pool settings, appended to the generated php-fpm.conf
	Code       []Code            `json:",omitempty"` // plugins, themes and mounts (code.go)
	BackupCode bool              `json:",omitempty"` // backups hold the mounted code too
	Multisite  Multisite         `json:",omitempty"`
	Matrix     string            `json:",omitempty"` // the [[matrix]] it is a combination of
	Hostnames  []string          `json:",omitempty"` // declared names besides NAME.localhost (Names)
	SleepAfter time.Duration     `json:",omitempty"` // stop PHP and database after this long without a request; 0: never
	key        string
	noPort     bool // publish_port = false: assign gives it no port
}

// URL is the site's canonical address as WordPress knows it: the port URL, or for a site
// reached by name only its first name (WordPress follows the request's own URL among the
// site's names, so this is the address of mails and of requests with no known host).
func (in *Instance) URL() string {
	if in.Port == 0 {
		return "http://" + in.Names()[0]
	}
	return fmt.Sprintf("http://localhost:%d", in.Port)
}

// InstancesConfig is a loaded, valid instances.toml.
type InstancesConfig struct {
	File      string
	Instances []Instance // in file order, then each matrix's combinations
	lines     *lineIndex // for Check's problems
	matrices  []matrixRef
}

// Lookup returns the instance called name.
func (c *InstancesConfig) Lookup(name string) (*Instance, bool) {
	for i := range c.Instances {
		if c.Instances[i].Name == name {
			return &c.Instances[i], true
		}
	}
	return nil, false
}

// builtinDefaults are used for what neither [defaults] nor the instance sets.
var builtinDefaults = struct {
	db, web    Flavor
	adminUser  string
	adminEmail string
	limits     Limits
}{
	db: FlavorMariaDB, web: FlavorNginx, adminUser: "admin", adminEmail: "admin@example.com",
	// Pids: MariaDB runs a thread per connection besides its ~30 own (max_connections is
	// 151); PHP-FPM forks at most 10 workers, each with the helpers a site may start (msmtp,
	// ImageMagick's threads); Apache's event MPM runs up to ~170 threads by default.
	limits: Limits{
		DB:  Limit{CPUs: 1, Memory: 1 << 30, Pids: 512},
		PHP: Limit{CPUs: 1, Memory: 1 << 30, Pids: 256},
		Web: Limit{CPUs: 0.5, Memory: 256 << 20, Pids: 256},
	},
}

// LoadInstances reads and validates instances.toml. held maps the names of instances that
// exist on disk to the id and port recorded for them (.instance-info): an instance that omits
// its id or port keeps what it holds, a new one gets the lowest free value, and no instance
// may take a value held by another one that is still declared. Ports are checked against and
// assigned from ports (wpinit.toml's instances.ports). reserved are ports something else of
// the machine listens on (wp-dind's phpMyAdmin on 8080): never an instance's.
func LoadInstances(path string, held map[string]Slot, ports PortRange, reserved ...int) (*InstancesConfig, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseInstances(path, data, held, ports, reserved...)
}

// ParseInstances is LoadInstances on data already read; file names it in errors. Whatever
// data holds, it returns: a panic of the parser is an error too (ErrParserFailed).
func ParseInstances(file string, data []byte, held map[string]Slot, ports PortRange, reserved ...int) (*InstancesConfig, error) {
	return guarded(file, func() (*InstancesConfig, error) { return parseInstances(file, data, held, ports, reserved) })
}

func parseInstances(file string, data []byte, held map[string]Slot, ports PortRange, reserved []int) (*InstancesConfig, error) {
	var f InstancesFile
	p, md, err := decodeStrict(file, data, &f)
	if err != nil {
		return nil, err
	}
	p.checkVersion(md, f.Version)
	v := &validator{problems: p, seen: map[string]bool{}, ports: ports}
	v.settings("defaults", &f.Defaults)
	cfg := &InstancesConfig{File: file, lines: p.lines}
	entries := f.Instance
	for i := range entries {
		entries[i].key = fmt.Sprintf("instance[%d]", i)
		cfg.Instances = append(cfg.Instances, v.instance(entries[i].key, &entries[i], &f.Defaults))
	}
	for i := range f.Matrix {
		ins, es := v.matrix(i, &f.Matrix[i], &f.Defaults)
		cfg.Instances, entries = append(cfg.Instances, ins...), append(entries, es...)
	}
	v.unique(entries)
	cfg.matrices = v.matrixNames(f.Matrix, f.Instance)
	v.uniqueNames(cfg.Instances, entries)
	v.froms(entries)
	slices.SortStableFunc(p.errs, func(a, b error) int { return lineOf(a) - lineOf(b) })
	if err := p.err(); err != nil {
		return nil, err
	}
	assign(v.problems, cfg.Instances, entries, held, ports, reserved)
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validator reports each problem once, though an inherited bad default shows in every instance.
type validator struct {
	*problems
	seen  map[string]bool
	ports PortRange
}

func (v *validator) addOnce(key, format string, args ...any) {
	msg := key + "\x00" + fmt.Sprintf(format, args...)
	if v.seen[msg] {
		return
	}
	v.seen[msg] = true
	v.add(key, format, args...)
}

var (
	iniKeyRE     = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
	adminUserRE  = regexp.MustCompile(`^[A-Za-z0-9_.@\-]{1,60}$`)
	adminEmailRE = regexp.MustCompile(`^[^@\s"'\\\x00-\x1f\x7f]+@[^@\s"'\\\x00-\x1f\x7f]+$`)
)

// settings checks the fields whose validity does not depend on merging.
func (v *validator) settings(key string, s *InstanceSettings) {
	if s.Pull != "" && s.Pull != string(PullNever) && s.Pull != string(PullMissing) {
		v.addOnce(key+".pull", "unknown pull policy %q: use %q or %q", s.Pull, PullNever, PullMissing)
	}
	if s.AdminUser != "" && !adminUserRE.MatchString(s.AdminUser) {
		v.addOnce(key+".admin_user", "invalid user name %q: letters, digits and _.@- only", s.AdminUser)
	}
	if s.AdminEmail != "" && !adminEmailRE.MatchString(s.AdminEmail) {
		v.addOnce(key+".admin_email", "invalid email address %q", s.AdminEmail)
	}
	v.cpus(key+".limits.db.cpus", s.Limits.DB.CPUs)
	v.cpus(key+".limits.php.cpus", s.Limits.PHP.CPUs)
	v.cpus(key+".limits.web.cpus", s.Limits.Web.CPUs)
	v.iniMap(key+".php_ini", s.PHPIni)
	if _, ok := s.PHPIni["xdebug.mode"]; ok {
		v.addOnce(key+".php_ini.xdebug.mode", "set `xdebug = true` or `false` instead: wpinit owns xdebug.mode (`ctl xdebug` switches it)")
	}
	v.iniMap(key+".my_cnf", s.MyCnf)
	v.fpmPool(key+".php_fpm", s.PHPFPM)
}

func (v *validator) iniMap(key string, m map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		val := m[k]
		if !iniKeyRE.MatchString(k) {
			v.addOnce(key+"."+k, "invalid setting name %q: letters, digits and _.- only", k)
		}
		if c := controlChar(val); c >= 0 {
			v.addOnce(key+"."+k, "value must be one line of text: it holds the control character %U", c)
		}
	}
}

// instance merges entry over defaults and validates the result; key is where it is written.
func (v *validator) instance(key string, e *InstanceEntry, d *InstanceSettings) Instance {
	if e.Name == "" {
		v.add(key+".name", "missing: every instance needs a name")
	}
	if slices.Contains(ReservedInstanceNames, string(e.Name)) {
		v.add(key+".name", "name %q is reserved: the instances root's %s/ folder is not an instance", e.Name, e.Name)
	}
	if e.ID != nil && (*e.ID < MinInstanceID || *e.ID > MaxInstanceID) {
		v.add(key+".id", "id %d out of range %d-%d", *e.ID, MinInstanceID, MaxInstanceID)
	}
	if e.Port != nil && !v.ports.Contains(*e.Port) {
		v.add(key+".port", "port %d out of range %s (instances.ports in wpinit.toml)", *e.Port, v.ports)
	}
	if c := controlChar(e.Title); c >= 0 {
		v.add(key+".title", "title must be one line of text: it holds the control character %U", c)
	} else if len(e.Title) > 200 {
		v.add(key+".title", "title must be one line of at most 200 characters")
	}
	v.settings(key, &e.InstanceSettings)
	in := Instance{
		Name: string(e.Name), ID: e.id(), Port: e.port(), Title: e.Title, From: e.From,
		Shared:     pick(e.SharedNetwork, d.SharedNetwork),
		Xdebug:     pick(e.Xdebug, d.Xdebug),
		Pull:       PullPolicy(first(e.Pull, d.Pull, string(PullNever))),
		AdminUser:  first(e.AdminUser, d.AdminUser, builtinDefaults.adminUser),
		AdminEmail: first(e.AdminEmail, d.AdminEmail, builtinDefaults.adminEmail),
		Limits:     mergeLimits(e.Limits, d.Limits),
		PHPIni:     mergeMaps(d.PHPIni, e.PHPIni),
		MyCnf:      mergeMaps(d.MyCnf, e.MyCnf),
		PHPFPM:     mergeMaps(d.PHPFPM, e.PHPFPM),
		Code:       v.code(key, &e.InstanceSettings, d),
		BackupCode: pick(e.BackupMounts, d.BackupMounts),
		Multisite:  v.multisite(key, e.Multisite, d.Multisite),
		key:        key,
	}
	if in.Title == "" {
		in.Title = in.Name
	}
	in.PHP = v.component(key, "php", "", FlavorPHP, e.PHP, d.PHP)
	in.DB = v.choose(key, "db", dbFlavors, e.DB, d.DB, e.DBVersion, d.DBVersion, builtinDefaults.db)
	in.Web = v.choose(key, "web", webFlavors, e.Web, d.Web, e.WebVersion, d.WebVersion, builtinDefaults.web)
	v.routing(key, e, d, &in)
	return in
}

// choose resolves a flavor with its version: the instance's own, else the defaults' version
// when the flavor is the defaults' one too, else the flavor's newest runnable version.
func (v *validator) choose(key, field string, allowed []Flavor, flavor, dflavor, version, dversion string, builtin Flavor) Component {
	f := Flavor(first(flavor, dflavor, string(builtin)))
	fkey := key + "." + field
	if flavor == "" {
		fkey = "defaults." + field
	}
	if !slices.Contains(allowed, f) {
		v.addOnce(fkey, "unknown %s %q: use one of %s", field, f, joinFlavors(allowed))
		return Component{Flavor: f}
	}
	if version == "" && dversion != "" && f == Flavor(first(dflavor, string(builtin))) {
		return v.component("defaults", field+"_version", "", f, dversion, "")
	}
	return v.component(key, field+"_version", flavors[f].fallback, f, version, "")
}

// component validates a version given in key (instance) or in defaults.
func (v *validator) component(key, field, fallback string, f Flavor, version, dversion string) Component {
	vkey := key + "." + field
	switch {
	case version == "" && dversion != "":
		version, vkey = dversion, "defaults."+field
	case version == "" && fallback != "":
		version = fallback
	case version == "":
		version = flavors[f].fallback
	}
	if err := checkFlavorVersion(f, version); err != nil {
		v.addOnce(vkey, "%v", err)
	}
	return Component{Flavor: f, Version: version}
}

// unique reports names, ids and ports given twice, naming the instance that has them first.
func (v *validator) unique(entries []InstanceEntry) {
	names, ids, ports := map[Name]int{}, map[int]int{}, map[int]int{}
	for i, e := range entries {
		key := e.key
		if j, dup := names[e.Name]; dup && e.Name != "" {
			v.add(key+".name", "duplicate name %q: %s has it too", e.Name, entries[j].key)
		} else {
			names[e.Name] = i
		}
		if j, dup := ids[e.id()]; dup && e.ID != nil {
			v.add(key+".id", "id %d is also given to instance %q", e.id(), entries[j].Name)
		} else {
			ids[e.id()] = i
		}
		if j, dup := ports[e.port()]; dup && e.Port != nil {
			v.add(key+".port", "port %d is also given to instance %q", e.port(), entries[j].Name)
		} else {
			ports[e.port()] = i
		}
	}
}

func pick(v, d *bool) bool {
	if v != nil {
		return *v
	}
	return d != nil && *d
}

func first(vals ...string) string {
	for _, s := range vals {
		if s != "" {
			return s
		}
	}
	return ""
}

func mergeLimits(e, d LimitsEntry) Limits {
	one := func(e, d LimitEntry, b Limit) Limit {
		out := b
		if d.CPUs != 0 {
			out.CPUs = d.CPUs
		}
		if e.CPUs != 0 {
			out.CPUs = e.CPUs
		}
		if d.Memory != 0 {
			out.Memory = int64(d.Memory)
		}
		if e.Memory != 0 {
			out.Memory = int64(e.Memory)
		}
		if d.Pids != 0 {
			out.Pids = int64(d.Pids)
		}
		if e.Pids != 0 {
			out.Pids = int64(e.Pids)
		}
		return out
	}
	b := builtinDefaults.limits
	return Limits{DB: one(e.DB, d.DB, b.DB), PHP: one(e.PHP, d.PHP, b.PHP), Web: one(e.Web, d.Web, b.Web)}
}

func mergeMaps(d, e map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, d)
	maps.Copy(out, e)
	return out
}

func joinFlavors(fs []Flavor) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

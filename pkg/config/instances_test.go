package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// defaultPorts is wpinit.toml's default instances.ports.
var defaultPorts = DefaultInstances().Ports

// The cpus bound follows the machine: the tests and golden files see one of 8 CPUs.
func init() { hostCPUs = func() int { return 8 } }

// TestInstancesGolden loads every testdata/instances/*.toml (ports 8000-8099, 8080 reserved,
// nothing held) and compares the result with its .golden file, as TestWpinitGolden does.
func TestInstancesGolden(t *testing.T) {
	goldenFiles(t, "testdata/instances", func(t *testing.T, file string) string {
		cfg, err := LoadInstances(file, nil, defaultPorts, 8080)
		return render(t, cfg, err)
	})
}

func TestShippedInstancesFile(t *testing.T) {
	cfg, err := LoadInstances(filepath.Join("..", "..", "conf", "instances.toml"), nil, defaultPorts)
	if err != nil {
		t.Fatalf("conf/instances.toml: %v", err)
	}
	if len(cfg.Instances) != 2 {
		t.Fatalf("got %d instances, want 2", len(cfg.Instances))
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	if a.PHP.Version == b.PHP.Version {
		t.Errorf("the default file must run two PHP versions, both are %s", a.PHP.Version)
	}
	if b.PHP.String() != "php 7.4" || b.DB.String() != "mariadb 10.5" || b.Web.String() != "nginx 1.18" {
		t.Errorf("legacy stack = %s, %s, %s", b.PHP, b.DB, b.Web)
	}
	if !b.Xdebug || a.Xdebug {
		t.Errorf("xdebug: a=%v b=%v", a.Xdebug, b.Xdebug)
	}
	if b.Limits.PHP.Memory != 512<<20 || b.Limits.PHP.CPUs != 1 || b.Limits.Web.Memory != 256<<20 {
		t.Errorf("limits merge: %+v", b.Limits)
	}
	if b.PHPIni["memory_limit"] != "256M" || b.PHPIni["upload_max_filesize"] != "64M" {
		t.Errorf("php_ini merge: %v", b.PHPIni)
	}
	if a.URL() != "http://localhost:8001" || a.Title != "PHP 8.4 on MariaDB 11.8" {
		t.Errorf("a = %s %q", a.URL(), a.Title)
	}
}

func TestInstancesDefaults(t *testing.T) {
	src := "version = 1\n[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\ndb = \"mysql\"\nweb = \"apache\"\n"
	cfg, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	want := []string{"php 8.4", "mariadb 11.8", "nginx 1.26", "mysql 8.0", "apache 2.4"}
	got := []string{a.PHP.String(), a.DB.String(), a.Web.String(), b.DB.String(), b.Web.String()}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("component %d = %s, want %s", i, got[i], want[i])
		}
	}
	if a.ID != 1 || a.Port != 8000 || b.ID != 2 || b.Port != 8001 {
		t.Errorf("assigned a=%d/%d b=%d/%d", a.ID, a.Port, b.ID, b.Port)
	}
	if a.Pull != PullNever || a.AdminUser != "admin" || a.Title != "a" || a.Limits.DB.Memory != 1<<30 {
		t.Errorf("builtin defaults: %+v", a)
	}
	if a.DB.Dir() != "mariadb-11.8" || !a.DB.Offline() || b.DB.Offline() {
		t.Errorf("dir/offline: %s %v %v", a.DB.Dir(), a.DB.Offline(), b.DB.Offline())
	}
}

func TestInstancesDefaultVersionFollowsEngine(t *testing.T) {
	src := "version = 1\n[defaults]\ndb = \"mariadb\"\ndb_version = \"10.5\"\n" +
		"[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\ndb = \"mysql\"\n"
	cfg, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Instances[0].DB.String(); got != "mariadb 10.5" {
		t.Errorf("a db = %s", got)
	}
	if got := cfg.Instances[1].DB.String(); got != "mysql 8.0" {
		t.Errorf("b db = %s (a mariadb default version must not apply to mysql)", got)
	}
}

func TestInstancesErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"syntax", "version = 1\n[[instance]]\nname = \"a\n", []string{"i.toml:3: "}},
		{"unknown key", "version = 1\n[[instance]]\nname = \"a\"\nphpp = \"8.4\"\n", []string{"i.toml:4: instance[0].phpp: unknown key"}},
		{"bad name", "version = 1\n[[instance]]\nname = \"A_b\"\n", []string{"i.toml:3: instance.name: invalid name"}},
		{"no name", "version = 1\n[[instance]]\nphp = \"8.4\"\n", []string{"i.toml:2: instance[0].name: missing"}},
		{"duplicates", "version = 1\n[[instance]]\nname = \"a\"\nid = 3\nport = 8003\n[[instance]]\nname = \"a\"\nid = 3\nport = 8003\n",
			[]string{"i.toml:7: instance[1].name: duplicate name \"a\"", "i.toml:8: instance[1].id: id 3 is also given to instance \"a\"", "i.toml:9: instance[1].port: port 8003 is also given"}},
		{"ranges", "version = 1\n[[instance]]\nname = \"a\"\nid = 255\nport = 80\n",
			[]string{"i.toml:4: instance[0].id: id 255 out of range 1-254", "i.toml:5: instance[0].port: port 80 out of range 8000-8099 (instances.ports in wpinit.toml)"}},
		{"versions", "version = 1\n[defaults]\nphp = \"9.9\"\n[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\ndb = \"mysql\"\ndb_version = \"11.8\"\nweb = \"caddy\"\n",
			[]string{"i.toml:3: defaults.php: unknown php version \"9.9\"", "i.toml:9: instance[1].db_version: unknown mysql version \"11.8\"", "i.toml:10: instance[1].web: unknown web \"caddy\""}},
		{"settings", "version = 1\n[[instance]]\nname = \"a\"\npull = \"always\"\nadmin_email = \"nope\"\nlimits.php = { cpus = -1.0 }\nphp_ini = { \"bad key\" = \"1\" }\n",
			[]string{"i.toml:4: instance[0].pull: unknown pull policy", "i.toml:5: instance[0].admin_email: invalid email", "i.toml:6: instance[0].limits.php.cpus: cpus -1 out of range 0.01-8", "i.toml:7: instance[0].php_ini.bad key: invalid setting name"}},
		{"version", "[[instance]]\nname = \"a\"\n", []string{"version: missing"}},
		{"reserved", "version = 1\n[[instance]]\nname = \"backups\"\n", []string{"i.toml:3: instance[0].name: name \"backups\" is reserved"}},
		{"xdebug in php_ini", "version = 1\n[[instance]]\nname = \"a\"\nphp_ini = { \"xdebug.mode\" = \"debug\" }\n",
			[]string{"i.toml:4: instance[0].php_ini.xdebug.mode: set `xdebug = true`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInstances("i.toml", []byte(tt.src), nil, defaultPorts)
			wantFieldErrors(t, err, tt.want)
		})
	}
}

func TestInstancesAssignStable(t *testing.T) {
	// b and c omit id and port; b holds 5/8005 from a previous load; gone holds 1/8000.
	held := map[string]Slot{"b": {ID: 5, Port: 8005}, "gone": {ID: 1, Port: 8000}}
	src := "version = 1\n[[instance]]\nname = \"a\"\nid = 2\nport = 8001\n[[instance]]\nname = \"c\"\n[[instance]]\nname = \"b\"\n"
	cfg, err := ParseInstances("i.toml", []byte(src), held, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Slot{}
	for _, in := range cfg.Instances {
		got[in.Name] = Slot{in.ID, in.Port}
	}
	want := map[string]Slot{"a": {2, 8001}, "b": {5, 8005}, "c": {3, 8002}}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%s = %+v, want %+v", n, got[n], w)
		}
	}
}

func TestInstancesAssignClash(t *testing.T) {
	held := map[string]Slot{"b": {ID: 5, Port: 8005}, "gone": {ID: 7, Port: 8007}}
	src := "version = 1\n[[instance]]\nname = \"a\"\nid = 7\nport = 8005\n[[instance]]\nname = \"b\"\n"
	_, err := ParseInstances("i.toml", []byte(src), held, defaultPorts)
	got := FieldErrors(err)
	if len(got) != 1 || !strings.Contains(got[0].Error(), `i.toml:5: instance[0].port: port 8005 is held by instance "b"`) {
		t.Fatalf("errors = %v", err)
	}
}

func TestInstancesNoFreePort(t *testing.T) {
	var b strings.Builder
	b.WriteString("version = 1\n")
	for i := 0; i <= defaultPorts.Last-defaultPorts.First+1; i++ {
		b.WriteString("[[instance]]\nname = \"i" + strings.Repeat("x", i%3) + strconv.Itoa(i) + "\"\n")
	}
	_, err := ParseInstances("i.toml", []byte(b.String()), nil, defaultPorts)
	if err == nil || !strings.Contains(err.Error(), "no free port left in 8000-8099") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadInstancesMissingFile(t *testing.T) {
	_, err := LoadInstances(filepath.Join(t.TempDir(), "none.toml"), nil, defaultPorts)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

// TestInstancesReservedPort: a reserved port (wp-dind's phpMyAdmin on 8080) is refused when
// written, skipped when assigned, and not kept from a record that holds it.
func TestInstancesReservedPort(t *testing.T) {
	_, err := ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"a\"\nport = 8080\n"), nil, defaultPorts, 8080)
	if got := FieldErrors(err); len(got) != 1 || !strings.Contains(got[0].Error(), "i.toml:4: instance[0].port: port 8080 is reserved") {
		t.Fatalf("errors = %v", err)
	}
	held := map[string]Slot{"old": {ID: 1, Port: 8080}}
	for i := 0; i < 80; i++ {
		held[fmt.Sprintf("h%d", i)] = Slot{ID: i + 2, Port: 8000 + i}
	}
	src := "version = 1\n[[instance]]\nname = \"old\"\n[[instance]]\nname = \"new\"\n"
	cfg, err := ParseInstances("i.toml", []byte(src), held, defaultPorts, 8080)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range cfg.Instances {
		if in.Port < 8081 {
			t.Errorf("%s got port %d, want one above 8080", in.Name, in.Port)
		}
	}
}

// TestInstancesPortRange: the configured range, not 8000-8099, is what ports are checked
// against and assigned from, and its errors name it.
func TestInstancesPortRange(t *testing.T) {
	ports := PortRange{First: 30000, Last: 30001}
	cfg, err := ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\nport = 30000\n"), nil, ports)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cfg.Instances[0].Port, cfg.Instances[1].Port; a != 30001 || b != 30000 {
		t.Errorf("ports a=%d b=%d, want 30001 and 30000", a, b)
	}
	_, err = ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"a\"\nport = 8000\n"), nil, ports)
	if got := FieldErrors(err); len(got) != 1 || !strings.Contains(got[0].Error(), "i.toml:4: instance[0].port: port 8000 out of range 30000-30001 (instances.ports in wpinit.toml)") {
		t.Errorf("errors = %v", err)
	}
	_, err = ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\n[[instance]]\nname = \"c\"\n"), nil, ports)
	if err == nil || !strings.Contains(err.Error(), "instance[2]: no free port left in 30000-30001") {
		t.Errorf("err = %v", err)
	}
}

// TestInstancesPidsLimit: every container has a pids limit, the built-in one unless
// [defaults.limits] or the instance sets it; a value outside MinPids-MaxPids is refused with
// its line.
func TestInstancesPidsLimit(t *testing.T) {
	src := "version = 1\n[defaults.limits]\nphp = { pids = 300 }\n" +
		"[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\nlimits.php = { pids = 1000 }\nlimits.db = { pids = 64 }\n"
	cfg, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Instances[0].Limits, cfg.Instances[1].Limits
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"a db (built in)", a.DB.Pids, 512}, {"a php ([defaults])", a.PHP.Pids, 300}, {"a web (built in)", a.Web.Pids, 256},
		{"b db (its own)", b.DB.Pids, 64}, {"b php (its own)", b.PHP.Pids, 1000}, {"b web (built in)", b.Web.Pids, 256},
	} {
		if c.got != c.want {
			t.Errorf("%s: pids %d, want %d", c.name, c.got, c.want)
		}
	}
	if b.PHP.Memory != 1<<30 || b.PHP.CPUs != 1 {
		t.Errorf("a pids override changed the other limits: %+v", b.PHP)
	}
	for _, bad := range []string{"4", "2000000", "1.5", `"many"`} {
		src := "version = 1\n[[instance]]\nname = \"a\"\nlimits.web = { pids = " + bad + " }\n"
		_, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
		if got := FieldErrors(err); len(got) != 1 || !strings.Contains(got[0].Error(), "i.toml:4: ") ||
			!strings.Contains(got[0].Error(), "pids") {
			t.Errorf("pids = %s: %v, want one error on line 4 about pids", bad, err)
		}
	}
}

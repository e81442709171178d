package instance

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

func testInstance(t *testing.T, src string) *config.Instance {
	t.Helper()
	cfg, err := config.ParseInstances("i.toml", []byte("version = 1\n[[instance]]\nname = \"blog\"\nid = 7\nport = 8007\n"+src), nil, defaults.Ports)
	if err != nil {
		t.Fatal(err)
	}
	return &cfg.Instances[0]
}

// defaults is wpinit.toml's [instances] as shipped: wp-network-N on 172.20.N.0/24.
var defaults = config.DefaultInstances()

var testOpts = Options{Owner: "t", BindAddress: "127.0.0.1", Network: NewAddressing(&defaults), Images: NewImages(&defaults), BlockExternalHTTP: true}

func mustPrepare(t *testing.T, root string, in *config.Instance) *Prepared {
	t.Helper()
	p, err := Prepare(root, in, testOpts, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrepareLayout(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "php = \"8.2\"\ndb_version = \"10.11\"\nweb = \"apache\"\n")
	p := mustPrepare(t, root, in)
	for _, rel := range []string{
		"config/php-8.2/php.ini", "config/php-8.2/php-fpm.conf", "config/mariadb-10.11/my.cnf", "config/apache-2.4/wordpress.conf",
		"data/wordpress", "data/mysql", "logs/php-8.2", "logs/mariadb-10.11", "logs/apache-2.4",
		"docker-compose.yml", ".instance-info", ".env",
	} {
		if _, err := os.Stat(filepath.Join(root, "blog", rel)); err != nil {
			t.Errorf("missing %s: %v", rel, err)
		}
	}
	st, err := os.Stat(filepath.Join(root, "blog", ".env"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf(".env mode = %v, %v", st.Mode(), err)
	}
	web := p.Def.Container(RoleWeb)
	if web.Image != "wp-apache:2.4" || web.StopSignal != "SIGWINCH" || web.HostPort != 8007 || web.IP != "172.20.7.4" {
		t.Errorf("web spec = %+v", web)
	}
	conf, _ := os.ReadFile(web.ConfigFile)
	if !strings.Contains(string(conf), `SetHandler "proxy:fcgi://172.20.7.3:9000"`) {
		t.Errorf("apache conf does not pass PHP to 172.20.7.3:9000:\n%s", conf)
	}
	info, err := ReadInfo(p.Layout)
	if err != nil || info.ID != 7 || info.Port != 8007 || info.PHP != "php 8.2" || len(info.Generated) != 4 {
		t.Errorf("info = %+v, %v", info, err)
	}
	held, err := Held(root)
	if err != nil || held["blog"] != (config.Slot{ID: 7, Port: 8007}) {
		t.Errorf("held = %v, %v", held, err)
	}
}

func TestSecretsStableAndHidden(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	a := mustPrepare(t, root, in)
	b := mustPrepare(t, root, in)
	if a.Secrets != b.Secrets || len(a.Secrets.DBPassword) != 32 || a.Secrets.DBPassword == a.Secrets.DBRootPassword {
		t.Fatal("secrets are not generated once, 32 characters, distinct")
	}
	compose, _ := os.ReadFile(a.Layout.ComposePath())
	info, _ := os.ReadFile(a.Layout.InfoPath())
	for _, s := range []string{a.Secrets.DBPassword, a.Secrets.DBRootPassword, a.Secrets.AdminPassword} {
		if strings.Contains(string(compose), s) || strings.Contains(string(info), s) || strings.Contains(a.Def.Container(RoleDB).Hash, s) {
			t.Fatal("a secret leaked into docker-compose.yml, .instance-info or a hash")
		}
	}
	if got := a.Secrets.String(); strings.Contains(got, a.Secrets.DBPassword) {
		t.Fatal("Secrets.String shows a password")
	}
}

func TestGeneratedFilesKeepEdits(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	p := mustPrepare(t, root, in)
	ini := p.Layout.ConfigFile(RolePHP, in.PHP)
	cnf := p.Layout.ConfigFile(RoleDB, in.DB)
	// A stale default (unedited) is replaced when the declaration changes ...
	in.PHPIni = map[string]string{"memory_limit": "512M"}
	in.MyCnf = map[string]string{"max_connections": "50"}
	if err := os.WriteFile(cnf, []byte("[mysqld]\n# my own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p2 := mustPrepare(t, root, in)
	got, _ := os.ReadFile(ini)
	if !strings.Contains(string(got), "memory_limit = 512M") {
		t.Errorf("stale php.ini not regenerated:\n%s", got)
	}
	// ... an edited one is kept, and reported.
	got, _ = os.ReadFile(cnf)
	if string(got) != "[mysqld]\n# my own\n" {
		t.Errorf("edited my.cnf overwritten:\n%s", got)
	}
	if len(p2.Kept) != 1 || p2.Kept[0] != "config/mariadb-11.8/my.cnf" {
		t.Errorf("kept = %v", p2.Kept)
	}
	if p2.Def.Container(RoleDB).Hash == p.Def.Container(RoleDB).Hash {
		t.Error("an edited my.cnf must change the database's hash")
	}
}

func TestHashChangesOnlyAffectedContainer(t *testing.T) {
	root := t.TempDir()
	a := mustPrepare(t, root, testInstance(t, "php = \"8.4\"\n")).Def
	again := mustPrepare(t, root, testInstance(t, "php = \"8.4\"\n")).Def
	b := mustPrepare(t, root, testInstance(t, "php = \"7.4\"\n")).Def
	for _, r := range Roles {
		if a.Container(r).Hash != again.Container(r).Hash {
			t.Errorf("%s hash not stable", r)
		}
		changed := a.Container(r).Hash != b.Container(r).Hash
		if changed != (r == RolePHP) {
			t.Errorf("%s hash changed=%v on a PHP version change", r, changed)
		}
		if b.Container(r).Labels[docker.LabelHash] != b.Container(r).Hash {
			t.Errorf("%s hash label missing", r)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "blog", "config", "php-8.4", "php.ini")); err != nil {
		t.Error("the old version's config folder must be kept")
	}
}

func TestComposeExport(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "shared_network = true\nxdebug = true\n")
	p := mustPrepare(t, root, in)
	y := Compose(&p.Def)
	for _, want := range []string{
		`container_name: "blog-db"`, `image: "wp-mariadb:11.8"`, `MARIADB_ROOT_PASSWORD: "${DB_ROOT_PASSWORD}"`,
		`ipv4_address: "172.20.7.3"`, `- "127.0.0.1:8007:80"`, "wp-shared: {}", "mem_limit: 1073741824",
		`WORDPRESS_BLOCK_EXTERNAL_HTTP: "1"`, "condition: service_healthy",
		"  wp-network-7:\n    external: true", "pids_limit: 512", "cap_drop:\n      - \"ALL\"\n    cap_add:\n      - \"CHOWN\"",
		`- "NET_BIND_SERVICE"`, "security_opt:\n      - \"no-new-privileges\"",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("compose lacks %q", want)
		}
	}
	if strings.Contains(y, "XDEBUG_MODE") {
		t.Error("Xdebug's mode lives in php.ini, not in the environment")
	}
	if strings.Count(y, "ports:") != 1 {
		t.Error("only the web server publishes a port")
	}
	if strings.Contains(strings.Split(y, "  php:")[0], "wp-shared") {
		t.Error("the database must not join the shared network")
	}
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		testutil.SkipOrFail(t, "docker-compose not installed: its validation of the export is skipped", "make tools")
	}
	out, err := exec.Command(dc, "-f", p.Layout.ComposePath(), "config", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
}

func TestArchiveAndPurge(t *testing.T) {
	root := t.TempDir()
	p := mustPrepare(t, root, testInstance(t, ""))
	marker := filepath.Join(p.Layout.WordPressDir(), "marker")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst, err := Archive(p.Layout, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "data", "wordpress", "marker")); err != nil {
		t.Fatalf("data not archived: %v", err)
	}
	if held, _ := Held(root); len(held) != 0 {
		t.Errorf("archived instance still held: %v", held)
	}
	list, err := ListArchived(root, "blog")
	if err != nil || len(list) != 1 || list[0].When.Hour() != 3 {
		t.Fatalf("archived = %v, %v", list, err)
	}
	if _, err := Purge(root, "blog"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Error("purge left the archive")
	}
	if _, err := Purge(root, "blog"); err == nil {
		t.Error("purging nothing must fail")
	}
}

func TestNewPasswordAlphabet(t *testing.T) {
	seen := map[rune]bool{}
	for i := 0; i < 50; i++ {
		p, err := NewPassword(32)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p {
			if !strings.ContainsRune(passwordAlphabet, r) {
				t.Fatalf("character %q outside the alphabet", r)
			}
			seen[r] = true
		}
	}
	if len(seen) < len(passwordAlphabet)-5 {
		t.Errorf("only %d distinct characters in 1600 draws", len(seen))
	}
}

// TestLeanDefaults: the generated files size a development site (docs/instances.md, "Lean
// defaults"), php_fpm reaches the pool's file, and an edit of that file recreates PHP.
func TestLeanDefaults(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "php_fpm = { \"pm.max_children\" = \"4\" }\n")
	p := mustPrepare(t, root, in)
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for path, want := range map[string][]string{
		p.Layout.ConfigFile(RoleDB, in.DB):   {"performance_schema = OFF", "innodb_buffer_pool_size = 8M", "max_connections = 30", "innodb_log_file_size = 16M"},
		p.Layout.ConfigFile(RolePHP, in.PHP): {"opcache.memory_consumption = 64", "opcache.save_comments = 0"},
		p.Layout.FPMConfigFile(in.PHP):       {"pm = ondemand", "pm.process_idle_timeout = 5s", "pm.max_children = 4"},
	} {
		got := read(path)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", path, w, got)
			}
		}
	}
	mysql := testInstance(t, "db = \"mysql\"\ndb_version = \"8.0\"\n")
	if cnf := myCNF(mysql); strings.Contains(cnf, "aria_") || strings.Contains(cnf, "innodb_log_file_size") {
		t.Errorf("MySQL's my.cnf has MariaDB's settings:\n%s", cnf)
	}
	for _, tc := range []struct {
		db   string
		want bool
	}{
		{"db = \"mariadb\"\ndb_version = \"11.8\"\n", true},
		{"db = \"mariadb\"\ndb_version = \"10.11\"\n", false}, // no such variable: the server would not start
		{"db = \"mariadb\"\ndb_version = \"10.5\"\n", false},
		{"db = \"mysql\"\ndb_version = \"9.7\"\n", false},
	} {
		cnf := myCNF(testInstance(t, tc.db))
		if got := strings.Contains(cnf, "character_set_collations = utf8mb3=utf8mb3_unicode_ci,utf8mb4=utf8mb4_unicode_ci\n"); got != tc.want {
			t.Errorf("%q: character_set_collations written %v, want %v:\n%s", tc.db, got, tc.want, cnf)
		}
	}
	hash := p.Def.Container(RolePHP).Hash
	if err := os.WriteFile(p.Layout.FPMConfigFile(in.PHP), []byte(read(p.Layout.FPMConfigFile(in.PHP))+"pm = static\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p2 := mustPrepare(t, root, in)
	if p2.Def.Container(RolePHP).Hash == hash || !slices.Contains(p2.Kept, "config/php-8.4/php-fpm.conf") {
		t.Errorf("an edit of php-fpm.conf: hash %s -> %s, kept %v", hash, p2.Def.Container(RolePHP).Hash, p2.Kept)
	}
}

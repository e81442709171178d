package config

import (
	"slices"
	"strings"
	"testing"
)

// TestMatrixCombinations: the pure expansion, php slowest and web fastest, a list left out
// leaving its key to the common part.
func TestMatrixCombinations(t *testing.T) {
	tests := []struct {
		name string
		m    MatrixEntry
		want []string // php/db/db_version/web of each combination
	}{
		{"php only", MatrixEntry{PHP: []string{"7.4", "8.4"}}, []string{"7.4///", "8.4///"}},
		{"php x db_version", MatrixEntry{PHP: []string{"7.4", "8.2", "8.4"}, DBVersion: []string{"10.5", "11.8"}},
			[]string{"7.4//10.5/", "7.4//11.8/", "8.2//10.5/", "8.2//11.8/", "8.4//10.5/", "8.4//11.8/"}},
		{"db and web", MatrixEntry{DB: []string{"mariadb", "mysql"}, Web: []string{"nginx", "apache"}},
			[]string{"/mariadb//nginx", "/mariadb//apache", "/mysql//nginx", "/mysql//apache"}},
		{"common part kept", MatrixEntry{Web: []string{"apache"}, InstanceSettings: InstanceSettings{PHP: "8.2", DBVersion: "10.5"}},
			[]string{"8.2//10.5/apache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range tt.m.Combinations() {
				got = append(got, strings.Join([]string{s.PHP, s.DB, s.DBVersion, s.Web}, "/"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("combinations = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatrixInstanceName(t *testing.T) {
	c := func(f Flavor, v string) Component { return Component{Flavor: f, Version: v} }
	tests := []struct {
		php, db, web Component
		want         string
	}{
		{c(FlavorPHP, "8.2"), c(FlavorMariaDB, "10.11"), c(FlavorNginx, "1.26"), "m-php82-mariadb1011-nginx"},
		{c(FlavorPHP, "7.4"), c(FlavorMySQL, "8.0"), c(FlavorApache, "2.4"), "m-php74-mysql80-apache"},
	}
	for _, tt := range tests {
		got := MatrixInstanceName("m", tt.php, tt.db, tt.web)
		if got != tt.want {
			t.Errorf("name = %q, want %q", got, tt.want)
		}
		if err := ValidName(got); err != nil {
			t.Errorf("%q is not DNS-safe: %v", got, err)
		}
	}
}

func names(cfg *InstancesConfig) []string {
	var out []string
	for _, in := range cfg.Instances {
		out = append(out, in.Name)
	}
	return out
}

// TestMatrixLoad: a matrix of 3 PHP x 2 MariaDB beside an instance; the common part applies
// to each combination; removing a value removes its combinations only and the others keep
// their ids and ports (held on disk, as the reconciler passes them).
func TestMatrixLoad(t *testing.T) {
	src := `version = 1
[[instance]]
name = "blog"

[[matrix]]
name = "compat"
php = ["7.4", "8.2", "8.4"]
db_version = ["10.5", "11.8"]
xdebug = true
php_ini = { memory_limit = "512M" }
`
	cfg, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"blog", "compat-php74-mariadb105-nginx", "compat-php74-mariadb118-nginx", "compat-php82-mariadb105-nginx",
		"compat-php82-mariadb118-nginx", "compat-php84-mariadb105-nginx", "compat-php84-mariadb118-nginx"}
	if got := names(cfg); !slices.Equal(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	held := map[string]Slot{}
	for _, in := range cfg.Instances[1:] {
		if in.Matrix != "compat" || !in.Xdebug || in.PHPIni["memory_limit"] != "512M" || in.Web.String() != "nginx 1.26" {
			t.Errorf("%s: matrix %q, xdebug %v, php_ini %v, web %s", in.Name, in.Matrix, in.Xdebug, in.PHPIni, in.Web)
		}
		if want := strings.ReplaceAll(in.PHP.Version, ".", ""); !strings.Contains(in.Name, "php"+want+"-") {
			t.Errorf("%s runs %s", in.Name, in.PHP)
		}
		held[in.Name] = Slot{ID: in.ID, Port: in.Port}
	}
	held["blog"] = Slot{ID: cfg.Instances[0].ID, Port: cfg.Instances[0].Port}

	edited := strings.Replace(src, `php = ["7.4", "8.2", "8.4"]`, `php = ["8.2", "8.4"]`, 1)
	cfg2, err := ParseInstances("i.toml", []byte(edited), held, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(cfg2); !slices.Equal(got, append(want[:1:1], want[3:]...)) {
		t.Fatalf("after removing 7.4: %v", got)
	}
	for _, in := range cfg2.Instances {
		if held[in.Name] != (Slot{ID: in.ID, Port: in.Port}) {
			t.Errorf("%s moved from %+v to %d/%d", in.Name, held[in.Name], in.ID, in.Port)
		}
	}
}

func TestMatrixErrors(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name, src string
		want      []string
	}{
		{"no name", "version = 1\n[[matrix]]\nphp = [\"8.4\"]\n", []string{"i.toml:2: matrix[0].name: missing"}},
		{"no list", "version = 1\n[[matrix]]\nname = \"m\"\nxdebug = true\n", []string{"i.toml:2: matrix[0]: a matrix needs at least one list"}},
		{"empty and twice", "version = 1\n[[matrix]]\nname = \"m\"\nphp = []\nweb = [\"nginx\", \"nginx\"]\n",
			[]string{"i.toml:4: matrix[0].php: empty list", "i.toml:5: matrix[0].web: \"nginx\" is listed twice"}},
		{"bad version", "version = 1\n[[matrix]]\nname = \"m\"\nphp = [\"8.4\", \"5.6\"]\n", []string{"i.toml:4: matrix[0].php: unknown php version \"5.6\""}},
		{"too long", "version = 1\n[[matrix]]\nname = \"" + long + "\"\nweb = [\"apache\"]\n",
			[]string{"i.toml:3: matrix[0].name: \"" + long + "\" is too long for its instance " + long + "-php84-mariadb118-apache (at most 63 characters)"}},
		{"clash with an instance", "version = 1\n[[instance]]\nname = \"m-php84-mariadb118-nginx\"\n[[matrix]]\nname = \"m\"\nphp = [\"8.4\"]\n",
			[]string{"i.toml:5: matrix[0].name: duplicate name \"m-php84-mariadb118-nginx\": instance[0] has it too"}},
		{"named like an instance", "version = 1\n[[instance]]\nname = \"m\"\n[[matrix]]\nname = \"m\"\nphp = [\"8.4\"]\n",
			[]string{"i.toml:5: matrix[0].name: duplicate name \"m\": another matrix or an instance has it"}},
		{"unknown key", "version = 1\n[[matrix]]\nname = \"m\"\nphp = [\"8.4\"]\ntitle = \"x\"\n", []string{"i.toml:5: matrix[0].title: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInstances("i.toml", []byte(tt.src), nil, defaultPorts)
			wantFieldErrors(t, err, tt.want)
		})
	}
}

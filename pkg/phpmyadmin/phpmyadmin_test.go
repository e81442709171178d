package phpmyadmin

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// defaults is wpinit.toml's [instances] as shipped, and net its addressing: 172.20.N.0/24.
var (
	defaults = config.DefaultInstances()
	net      = instance.NewAddressing(&defaults)
)

func testInstances(t *testing.T) []config.Instance {
	t.Helper()
	src := "version = 1\n[[instance]]\nname = \"blog\"\nid = 1\n[[instance]]\nname = \"shop\"\nid = 12\n"
	cfg, err := config.ParseInstances("i.toml", []byte(src), nil, defaults.Ports)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Instances
}

func TestRenderGolden(t *testing.T) {
	for name, servers := range map[string][]Server{
		"two":  Servers(testInstances(t), net),
		"none": nil,
		"odd":  {{Name: `it's \ odd`, Host: "172.20.3.2", Port: 3306}},
	} {
		t.Run(name, func(t *testing.T) {
			got := Render(servers)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("Render differs from %s (go test -update):\n%s", golden, got)
			}
			lint(t, got)
		})
	}
}

// lint runs `php -l` on the fragment (apt-get install php-cli).
func lint(t *testing.T, src []byte) {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		skipOrFail(t, "php not installed (apt-get install php-cli): skipping php -l")
	}
	path := filepath.Join(t.TempDir(), "fragment.php")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(php, "-l", path).CombinedOutput(); err != nil {
		t.Fatalf("php -l: %v\n%s", err, out)
	}
}

// baseConfig stands for the image's conf.d/wp-dind.php: slot 1 is a free-address login.
const baseConfig = `<?php
$cfg['AllowArbitraryServer'] = true;
$cfg['Servers'][1]['host'] = '';
$cfg['Servers'][1]['auth_type'] = 'cookie';
`

// TestFragmentComposesInEitherOrder includes the fragment with PHP before and after a base
// configuration using slot 1, as Debian's config.inc.php does with conf.d/*.php, and
// compares the resulting server list.
func TestFragmentComposesInEitherOrder(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		skipOrFail(t, "php not installed (apt-get install php-cli)")
	}
	dir := t.TempDir()
	frag, base := filepath.Join(dir, "frag.php"), filepath.Join(dir, "base.php")
	_ = os.WriteFile(frag, Render(Servers(testInstances(t), net)), 0o644)
	_ = os.WriteFile(base, []byte(baseConfig), 0o644)
	for _, order := range [][2]string{{frag, base}, {base, frag}} {
		code := `$cfg = []; foreach (array_slice($argv, 1) as $f) { include $f; } echo json_encode($cfg['Servers']);`
		out, err := exec.Command(php, "-r", code, "--", order[0], order[1]).Output()
		if err != nil {
			t.Fatalf("php: %v", err)
		}
		var got map[string]map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(got) != 3 || got["1"]["host"] != "" || got["2"]["verbose"] != "blog" || got["2"]["host"] != "172.20.1.2" ||
			got["3"]["verbose"] != "shop" || got["3"]["host"] != "172.20.12.2" || got["3"]["port"] != "3306" || got["3"]["auth_type"] != "cookie" {
			t.Errorf("servers with %s first: %s", filepath.Base(order[0]), out)
		}
	}
}

func TestWriterWritesOnlyChanges(t *testing.T) {
	w := &Writer{Path: filepath.Join(t.TempDir(), "conf.d", "wp-dind-instances.php"), Network: net}
	servers := Servers(testInstances(t), net)
	for i, want := range []bool{true, false} {
		changed, err := w.Write(servers)
		if err != nil || changed != want {
			t.Fatalf("write %d: changed=%v, %v", i, changed, err)
		}
	}
	st, err := os.Stat(w.Path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("fragment mode: %v, %v", st, err)
	}
	w.Update(testInstances(t)[:1])
	got, _ := os.ReadFile(w.Path)
	if string(got) != string(Render(servers[:1])) {
		t.Errorf("Update did not rewrite the fragment:\n%s", got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(w.Path), ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// skipOrFail skips a test whose tool is missing, or fails it under make test (WPDIND_STRICT=1),
// which installs the tools first.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("WPDIND_STRICT") == "1" {
		t.Fatal(why + " (make tools)")
	}
	t.Skip(why)
}

// TestServersFollowAddressing: the databases are listed where the configured subnets put them.
func TestServersFollowAddressing(t *testing.T) {
	other := net
	other.Subnets = netip.MustParsePrefix("10.150.0.0/16")
	got := Servers(testInstances(t), other)
	if len(got) != 2 || got[0].Host != "10.150.1.2" || got[1].Host != "10.150.12.2" {
		t.Errorf("servers = %+v", got)
	}
}

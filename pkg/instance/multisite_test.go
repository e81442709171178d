package instance

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
)

var update = flag.Bool("update", false, "rewrite the web images' multisite configs under images/testdata")

// TestMultisiteWebConfigs holds images/testdata/{nginx,apache}-multisite.conf equal to what
// wpinit generates for a subdirectory network (the PHP container reached by its network
// alias): the web images' contract test (images/web_test.go) serves them on the real servers.
func TestMultisiteWebConfigs(t *testing.T) {
	for _, tt := range []struct {
		web, file string
		gen       func(*config.Instance, string) string
	}{
		{"nginx", "../../images/testdata/nginx-multisite.conf", nginxConf},
		{"apache", "../../images/testdata/apache-multisite.conf", apacheConf},
	} {
		in := testInstance(t, "web = \""+tt.web+"\"\nmultisite = \"subdirectory\"\n")
		got := tt.gen(in, "php:9000")
		if *update {
			if err := os.WriteFile(tt.file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatalf("%v (go test ./pkg/instance -run TestMultisiteWebConfigs -update writes it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from what wpinit generates (-update rewrites it):\n%s", tt.file, got)
		}
	}
}

// TestMultisiteRulesOnlyForNetworks: a single site's configs have no multisite rules, a
// subdomain network's nginx needs none, its Apache the front controller only.
func TestMultisiteRulesOnlyForNetworks(t *testing.T) {
	single := testInstance(t, "")
	sub := testInstance(t, "multisite = \"subdomain\"\n")
	for name, conf := range map[string]string{
		"single nginx": nginxConf(single, "php:9000"), "single apache": apacheConf(single, "php:9000"),
		"subdomain nginx": nginxConf(sub, "php:9000"),
	} {
		if strings.Contains(conf, "Multisite") {
			t.Errorf("%s has multisite rules:\n%s", name, conf)
		}
	}
	if conf := apacheConf(sub, "php:9000"); !strings.Contains(conf, "RewriteRule ^ /index.php [L]") || strings.Contains(conf, "wp-admin$") {
		t.Errorf("subdomain apache:\n%s", conf)
	}
}

package instance

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

func TestAddressing(t *testing.T) {
	tests := []struct {
		subnets          string
		id               int
		name, subnet, gw string
		db, php, web     string
	}{
		{"172.20.0.0/16", 7, "wp-network-7", "172.20.7.0/24", "172.20.7.1", "172.20.7.2", "172.20.7.3", "172.20.7.4"},
		{"172.20.0.0/16", 254, "wp-network-254", "172.20.254.0/24", "172.20.254.1", "172.20.254.2", "172.20.254.3", "172.20.254.4"},
		{"10.137.0.0/16", 1, "wp-network-1", "10.137.1.0/24", "10.137.1.1", "10.137.1.2", "10.137.1.3", "10.137.1.4"},
		{"10.16.0.0/12", 3, "wp-network-3", "10.16.3.0/24", "10.16.3.1", "10.16.3.2", "10.16.3.3", "10.16.3.4"},
	}
	for _, tt := range tests {
		a := Addressing{NetworkPrefix: "wp-network-", Subnets: netip.MustParsePrefix(tt.subnets)}
		n := a.Instance(tt.id)
		got := []string{n.Name, n.Subnet.String(), n.Gateway(), n.IP(RoleDB), n.IP(RolePHP), n.IP(RoleWeb)}
		want := []string{tt.name, tt.subnet, tt.gw, tt.db, tt.php, tt.web}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s id %d: %v, want %v", tt.subnets, tt.id, got, want)
		}
	}
}

// TestBridgeNames: the bridges are BridgePrefix+N and BridgePrefix+"shared"; without a
// prefix dockerd names them.
func TestBridgeNames(t *testing.T) {
	a := NewAddressing(&defaults)
	if got := a.Instance(12).Bridge; got != "wpbr12" {
		t.Errorf("instance 12's bridge %q, want wpbr12", got)
	}
	if got := a.SharedBridge(); got != "wpbrshared" {
		t.Errorf("shared bridge %q, want wpbrshared", got)
	}
	a.BridgePrefix = ""
	if a.Instance(12).Bridge != "" || a.SharedBridge() != "" {
		t.Errorf("no prefix: bridges %q and %q, want dockerd's names", a.Instance(12).Bridge, a.SharedBridge())
	}
}

// TestPrepareFollowsAddressing: another prefix and subnet reach every place that names the
// instance's network or an address: the specs, the environment, the web server's config,
// .instance-info and the compose export.
func TestPrepareFollowsAddressing(t *testing.T) {
	o := testOpts
	o.Network = Addressing{NetworkPrefix: "t-net-", Subnets: netip.MustParsePrefix("10.140.0.0/16"), SharedNetwork: "t-shared"}
	p, err := Prepare(t.TempDir(), testInstance(t, "shared_network = true\n"), o, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	php := p.Def.Container(RolePHP)
	env := map[string]string{}
	for _, e := range php.Env {
		env[e.Name] = e.Value
	}
	if p.Def.Network != "t-net-7" || php.Network != "t-net-7" || php.IP != "10.140.7.3" || php.Shared != "t-shared" ||
		env["WORDPRESS_DB_HOST"] != "10.140.7.2:3306" || env["SMTP_HOST"] != "10.140.7.1" {
		t.Errorf("php spec = %+v", php)
	}
	conf, _ := os.ReadFile(p.Def.Container(RoleWeb).ConfigFile)
	if !strings.Contains(string(conf), "10.140.7.3:9000") {
		t.Errorf("the web server does not pass PHP to 10.140.7.3:9000:\n%s", conf)
	}
	if p.Info.Network != "t-net-7" || p.Info.Subnet != "10.140.7.0/24" {
		t.Errorf("info network = %s %s", p.Info.Network, p.Info.Subnet)
	}
	if y := Compose(&p.Def); !strings.Contains(y, "  t-net-7:\n    external: true") || !strings.Contains(y, `ipv4_address: "10.140.7.4"`) {
		t.Errorf("compose export:\n%s", y)
	}
}

func TestImageNames(t *testing.T) {
	def := config.DefaultInstances()
	images := NewImages(&def)
	for c, want := range map[config.Component]string{
		{Flavor: config.FlavorPHP, Version: "8.4"}:      "wp-php:8.4",
		{Flavor: config.FlavorMariaDB, Version: "11.8"}: "wp-mariadb:11.8",
		{Flavor: config.FlavorMySQL, Version: "8.0"}:    "wp-mysql:8.0",
		{Flavor: config.FlavorApache, Version: "2.4"}:   "wp-apache:2.4",
	} {
		if got := images.Ref(c); got != want {
			t.Errorf("Ref(%s) = %s, want %s", c, got, want)
		}
	}
	if s := images.Source(config.Component{Flavor: config.FlavorPHP, Version: "8.4"}); !strings.Contains(s, "make images") || !strings.Contains(s, "/shared-images/wp-php.tar") {
		t.Errorf("source of an offline image: %s", s)
	}
	if s := images.Source(config.Component{Flavor: config.FlavorPHP, Version: "8.1"}); !strings.Contains(s, "/shared-images/wp-php-8.1.tar") || !strings.Contains(s, "docker save wp-php:8.1") {
		t.Errorf("source of an upstream image: %s", s)
	}
	branch := Images{Prefix: "registry:5000/team/wpt-"}
	if got := branch.Ref(config.Component{Flavor: config.FlavorNginx, Version: "1.26"}); got != "registry:5000/team/wpt-nginx:1.26" {
		t.Errorf("another prefix: %s", got)
	}
}

package reconciler

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// TestNewRequiresOptions: New defaults nothing. Empty options are refused with every field
// named; wpinit.toml's defaults with a file, a root and a logger are accepted.
func TestNewRequiresOptions(t *testing.T) {
	_, err := New(nil, Options{})
	if err == nil {
		t.Fatal("New accepted empty options")
	}
	for _, field := range []string{
		"File", "Root", "Owner", "BindAddress", "ProbeAddress", "Ports", "Network.NetworkPrefix", "Network.Subnets",
		"Network.SharedNetwork", "Network.SharedSubnet", "Parallelism", "Resync", "Debounce", "Timeouts.Healthy",
		"Timeouts.Install", "Timeouts.HTTP", "Timeouts.Backup", "Timeouts.Restore", "Logger",
	} {
		if !strings.Contains(err.Error(), "option "+field+":") {
			t.Errorf("the error does not name %s:\n%v", field, err)
		}
	}
	c := config.DefaultInstances()
	c.File = "/etc/wpinit/instances.toml"
	opt := OptionsOf(&c)
	opt.Logger = hclog.NewNullLogger()
	if _, err := New(nil, opt); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	opt.Parallelism, opt.ProbeAddress = 0, "localhost"
	_, err = New(nil, opt)
	if err == nil || !strings.Contains(err.Error(), "option Parallelism: 0: must be at least 1") || !strings.Contains(err.Error(), `option ProbeAddress: "localhost" is not an IP address`) {
		t.Errorf("bad fields: %v", err)
	}
}

// TestOptionsOfConfig: every key of [instances] reaches its option.
func TestOptionsOfConfig(t *testing.T) {
	w, err := config.LoadWpinit("../config/testdata/wpinit/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	o := OptionsOf(&w.Instances)
	got := []any{o.File, o.Root, o.Owner, o.BindAddress, o.ProbeAddress, o.Ports.String(), o.ReservedPorts[0],
		o.Network.NetworkPrefix, o.Network.Subnets.String(), o.Network.SharedNetwork, o.Network.SharedSubnet.String(),
		o.PoolNetworks, o.Parallelism, o.Resync.String(), o.Debounce.String(), o.Timeouts.Healthy.String(), o.Timeouts.Install.String(),
		o.Timeouts.HTTP.String(), o.Timeouts.Backup.String(), o.Timeouts.Restore.String(), o.BlockExternalHTTP, o.StopOnExit, o.StopBudget.String()}
	want := []any{"/etc/wpinit/instances.toml", "/wordpress-instances", "test-owner", "127.0.0.1", "127.0.0.2", "31000-31099", 31080,
		"wpt-net-", "10.120.0.0/16", "wpt-shared", "10.121.0.0/24",
		0, 2, "30s", "50ms", "1m0s", "2m0s", "30s", "5m0s", "6m0s", true, true, "15s"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("option %d = %v, want %v", i, got[i], want[i])
		}
	}
}

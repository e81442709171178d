package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPortRangeText(t *testing.T) {
	for in, want := range map[string]string{
		"8000-8099": "8000-8099", "20000-20000": "20000-20000", "1-65535": "1-65535",
		"8099-8000": "invalid", "0-10": "invalid", "10-65536": "invalid", "8000": "invalid", "a-b": "invalid", "": "invalid",
	} {
		var r PortRange
		got := "invalid"
		if err := r.UnmarshalText([]byte(in)); err == nil {
			got = r.String()
		} else if !strings.Contains(err.Error(), "use LOW-HIGH within 1-65535") {
			t.Errorf("%q: %v", in, err)
		}
		if got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

// TestInstancesInPortRange: instances.ports bounds the ports written and assigned.
func TestInstancesInPortRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i.toml")
	write := func(body string) {
		if err := os.WriteFile(path, []byte("version = 1\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ports := PortRange{20000, 20001}
	write("[[instance]]\nname = \"a\"\n[[instance]]\nname = \"b\"\nport = 20000\n")
	cfg, err := LoadInstancesIn(path, ports, nil)
	if err != nil || cfg.Instances[0].Port != 20001 || cfg.Instances[1].Port != 20000 {
		t.Fatalf("assigned in 20000-20001: %+v, %v", cfg, err)
	}
	write("[[instance]]\nname = \"a\"\nport = 8001\n")
	if _, err := LoadInstancesIn(path, ports, nil); err == nil || !strings.Contains(err.Error(), "instance[0].port: port 8001 out of range 20000-20001") {
		t.Errorf("a port of the default range: %v", err)
	}
	if cfg, err := LoadInstances(path, nil); err != nil || cfg.Instances[0].Port != 8001 {
		t.Errorf("the default range: %+v, %v", cfg, err)
	}
}

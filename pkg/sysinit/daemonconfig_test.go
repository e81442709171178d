package sysinit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRenderDaemonConfig(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.json")
	if err := os.WriteFile(base, []byte(`{"storage-driver": "overlay2", "hosts": ["unix:///var/run/docker.sock"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(certs, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		cfg       DaemonConfig
		outcome   Outcome
		hosts     []any
		tlsverify bool
		errHas    string
	}{
		{"off", DaemonConfig{Base: base}, Done, []any{"unix:///var/run/docker.sock"}, false, ""},
		{"tcp without tls", DaemonConfig{Base: base, TCP: "0.0.0.0:2375"}, Warning,
			[]any{"unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"}, false, "unauthenticated"},
		{"tcp with tls", DaemonConfig{Base: base, TCP: "0.0.0.0:2376", TLSDir: certs}, Done,
			[]any{"unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"}, true, ""},
		{"tls dir without certs", DaemonConfig{Base: base, TCP: "0.0.0.0:2376", TLSDir: dir}, Failed, nil, false, "ca.pem"},
		{"bad address", DaemonConfig{Base: base, TCP: "2375"}, Failed, nil, false, "docker API address"},
		{"no base", DaemonConfig{Base: filepath.Join(dir, "none.json")}, Failed, nil, false, "read dockerd config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Out = filepath.Join(t.TempDir(), "run", "daemon.json")
			res := renderDaemonConfig(tt.cfg)
			if res.Outcome != tt.outcome || !strings.Contains(res.Error, tt.errHas) {
				t.Fatalf("outcome %s error %q, want %s with %q", res.Outcome, res.Error, tt.outcome, tt.errHas)
			}
			if tt.outcome == Failed {
				if _, err := os.Stat(tt.cfg.Out); err == nil {
					t.Error("a failed step wrote the config")
				}
				return
			}
			var got map[string]any
			data, err := os.ReadFile(tt.cfg.Out)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["hosts"], tt.hosts) || got["storage-driver"] != "overlay2" {
				t.Errorf("hosts %v, storage-driver %v", got["hosts"], got["storage-driver"])
			}
			if v, _ := got["tlsverify"].(bool); v != tt.tlsverify {
				t.Errorf("tlsverify = %v, want %v", got["tlsverify"], tt.tlsverify)
			}
		})
	}
}

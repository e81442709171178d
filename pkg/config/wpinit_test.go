package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestWpinitGolden loads every testdata/wpinit/*.toml and compares the result with its
// .golden file: the loaded config as JSON when it is valid, one error per line otherwise.
func TestWpinitGolden(t *testing.T) {
	goldenFiles(t, "testdata/wpinit", func(t *testing.T, file string) string {
		w, err := LoadWpinit(file)
		return render(t, w, err)
	})
}

// goldenFiles runs load on every dir/*.toml and compares what it renders with the file's
// .golden twin (go test -update rewrites them).
func goldenFiles(t *testing.T, dir string, load func(t *testing.T, file string) string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			got := load(t, file)
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run go test -update once): %v", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", file, golden, got, want)
			}
		})
	}
}

// render is a loaded config as JSON, or its errors one per line.
func render[T any](t *testing.T, cfg *T, err error) string {
	t.Helper()
	if err != nil {
		if cfg != nil {
			t.Errorf("the load returned a config together with an error")
		}
		var b strings.Builder
		for _, fe := range FieldErrors(err) {
			b.WriteString(fe.Error() + "\n")
		}
		return b.String()
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n"
}

func TestWpinitDefaults(t *testing.T) {
	w, err := ParseWpinit("mem.toml", []byte("version = 1\n[services.web]\ncommand = \"sh\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := w.Services["web"]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"socket", w.Wpinit.Socket, "/run/wpinit/ctl.sock"},
		{"stop budget", w.Wpinit.StopTimeout.D().String(), "1m30s"},
		{"autostart", s.Autostart, true},
		{"restart", s.Restart, RestartAlways},
		{"start_retries", s.StartRetries, 5},
		{"stop_signal", s.StopSignal.String(), "TERM"},
		{"ready kind", s.Ready.Kind(), ""},
		{"ready timeout", s.Ready.Timeout.D().String(), "1m0s"},
		{"ring_lines", s.Log.RingLines, 1000},
		{"path is absolute", filepath.IsAbs(s.Path), true},
		{"order", strings.Join(w.Order, ","), "web"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestWpinitOrder(t *testing.T) {
	tests := []struct {
		name string
		deps map[string]string // service -> comma-separated dependencies, in file order
		want string
	}{
		{"independent keep file order", map[string]string{"b": "", "a": ""}, "b,a"},
		{"chain", map[string]string{"c": "b", "b": "a", "a": ""}, "a,b,c"},
		{"diamond", map[string]string{"d": "b,c", "b": "a", "c": "a", "a": ""}, "a,b,c,d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src strings.Builder
			src.WriteString("version = 1\n")
			for _, name := range orderedKeys(tt.want, tt.deps) {
				src.WriteString("[services." + name + "]\ncommand = \"/bin/true\"\n")
				if d := tt.deps[name]; d != "" {
					src.WriteString("depends_on = [\"" + strings.ReplaceAll(d, ",", "\",\"") + "\"]\n")
				}
			}
			w, err := ParseWpinit("mem.toml", []byte(src.String()))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(w.Order, ","); got != tt.want {
				t.Errorf("order = %s, want %s", got, tt.want)
			}
		})
	}
}

// orderedKeys writes the services in the reverse of the expected order unless the case is
// about file order, so that the sort has work to do.
func orderedKeys(want string, deps map[string]string) []string {
	names := strings.Split(want, ",")
	for _, d := range deps {
		if d != "" {
			for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
				names[i], names[j] = names[j], names[i]
			}
			return names
		}
	}
	return names
}

func TestSetDockerTCP(t *testing.T) {
	base := "version = 1\n[sysinit]\nenabled = true\n[docker]\ndaemon_config = \"/etc/d.json\"\ndaemon_config_out = \"/run/d.json\"\n"
	w, err := ParseWpinit("w.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetDockerTCP("0.0.0.0:2375"); err != nil || w.Docker.TCP != "0.0.0.0:2375" {
		t.Fatalf("SetDockerTCP: %v (tcp %q)", err, w.Docker.TCP)
	}
	if err := w.SetDockerTCP("2375"); err == nil || !strings.Contains(err.Error(), `WPINIT_DOCKER_TCP: docker.tcp: invalid address "2375"`) {
		t.Errorf("bad address: %v", err)
	}
	plain, err := ParseWpinit("w.toml", []byte("version = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SetDockerTCP("0.0.0.0:2375"); err == nil || !strings.Contains(err.Error(), "needs docker.daemon_config_out") {
		t.Errorf("without a rendered config: %v", err)
	}
}

package config

import (
	"strings"
	"testing"
)

func TestLineIndex(t *testing.T) {
	src := `version = 1  # top
[services.nginx]
command = "/usr/sbin/nginx"
args = [
  "-g", "daemon off;",
]
env = { A = "1" }
"quoted.key" = 2
note = """
fake = 1
"""
[[instance]]
name = "a"
[[instance]]
name = "b"
limits.cpu = 1
[[instance.volume]]
path = "/x"
`
	idx := indexLines([]byte(src))
	tests := []struct {
		key  string
		want int
	}{
		{"version", 1},
		{"services.nginx", 2},
		{"services.nginx.command", 3},
		{"services.nginx.args", 4},
		{"services.nginx.env.A", 7},
		{"services.nginx.quoted.key", 8},
		{"services.nginx.fake", 2},
		{"instance[0].name", 13},
		{"instance[1].name", 15},
		{"instance[1].limits.cpu", 16},
		{"instance[1].volume[0].path", 18},
		{"instance[1].missing", 14},
		{"nothing", 0},
	}
	for _, tt := range tests {
		if got := idx.line(tt.key); got != tt.want {
			t.Errorf("line(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
	if got := idx.occurrence("instance.name", 1); got != "instance[1].name" {
		t.Errorf("occurrence = %q", got)
	}
}

type leafDoc struct {
	Version int      `toml:"version"`
	Timeout Duration `toml:"timeout"`
	Stop    Signal   `toml:"stop"`
	Name    Name     `toml:"name"`
	Max     Size     `toml:"max"`
	Items   []struct {
		N int `toml:"n"`
	} `toml:"item"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name, src string
		wantErr   []string // substrings, one per FieldError, in order
	}{
		{"ok", "version = 1\ntimeout = \"5s\"\nstop = \"quit\"\nname = \"a-1\"\nmax = \"10MiB\"\n", nil},
		{"syntax", "version = 1\ntimeout = \n", []string{"f.toml:2: "}},
		{"bad duration", "version = 1\n\ntimeout = \"5 parsecs\"\n", []string{"f.toml:3: timeout: invalid duration"}},
		{"bad signal", "version = 1\nstop = \"NOPE\"\n", []string{"f.toml:2: stop: unknown signal"}},
		{"bad name", "version = 1\nname = \"Bad_Name\"\n", []string{"f.toml:2: name: invalid name"}},
		{"bad size", "version = 1\nmax = \"lots\"\n", []string{"f.toml:2: max: invalid size"}},
		{"unknown keys", "version = 1\nbogus = 1\n[[item]]\nn = 1\n[[item]]\nm = 2\n[extra]\na = 1\n",
			[]string{"f.toml:2: bogus: unknown key", "f.toml:6: item[1].m: unknown key", "f.toml:7: extra: unknown key"}},
		{"no version", "timeout = \"1s\"\n", []string{"f.toml: version: missing"}},
		{"wrong version", "version = 2\n", []string{"f.toml:1: version: unsupported version 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc leafDoc
			p, md, err := decodeStrict("f.toml", []byte(tt.src), &doc)
			if err == nil {
				p.checkVersion(md, doc.Version)
				err = p.err()
			}
			got := FieldErrors(err)
			if len(got) != len(tt.wantErr) {
				t.Fatalf("got %d errors (%v), want %d", len(got), err, len(tt.wantErr))
			}
			for i, want := range tt.wantErr {
				if !strings.Contains(got[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i].Error(), want)
				}
			}
		})
	}
}

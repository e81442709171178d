package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
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

// TestLineIndexValues: the lines of a value spanning lines are neither headers nor keys, even
// when one starts with "[[" or "[" (nested arrays), or holds '#', brackets or quotes in strings.
func TestLineIndexValues(t *testing.T) {
	src := `version = 1
[services.web]
args = [
[[],
 []],
  ["a]", "[b"], # ] comment [
  'x[',
]
env = { A = "}" }
text = """
[fake]
"""
after = 1
[[]
header = 2
`
	idx := indexLines([]byte(src))
	for key, want := range map[string]int{
		"services.web.args": 3, "services.web.env.A": 9, "services.web.text": 10, "services.web.after": 13,
		"services.web.header": 15, "fake": 0, "a": 0,
	} {
		if got := idx.line(key); got != want {
			t.Errorf("line(%q) = %d, want %d", key, got, want)
		}
	}
}

// TestGuardedPanic: a panic while parsing is an error naming the file, with the line the index
// was reading when it panicked there.
func TestGuardedPanic(t *testing.T) {
	type doc struct{}
	cfg, err := guarded("f.toml", func() (*doc, error) { panic(linePanic{line: 7, value: "boom"}) })
	if cfg != nil || !errors.Is(err, ErrParserFailed) || err.Error() != "f.toml:7: "+ErrParserFailed.Error()+": boom" {
		t.Errorf("line panic: %v, %v", cfg, err)
	}
	var order []string
	_, err = guarded("f.toml", func() (*doc, error) { return nil, errors.New(order[1]) }) // index out of range
	if fes := FieldErrors(err); len(fes) != 1 || fes[0].File != "f.toml" || fes[0].Line != 0 || !errors.Is(err, ErrParserFailed) {
		t.Errorf("library panic: %v", err)
	}
}

// TestDetailOutOfRange: ErrorWithPosition panics on the library's own position for `"\`
// (line 0, BurntSushi/toml#498); Detail falls back to the one-line form.
func TestDetailOutOfRange(t *testing.T) {
	var v map[string]any
	_, err := toml.Decode(`"\`, &v)
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Position.Line != 0 {
		t.Skipf("the library now reports %v: nothing to guard", err)
	}
	fe := &FieldError{File: "f.toml", Err: pe}
	if got := fe.Detail(); got != fe.Error() {
		t.Errorf("Detail = %q, want %q", got, fe.Error())
	}
}

// TestPanicInputs: the inputs that panicked the parsers once are errors with file and line,
// in the log form and in config check's form (Detail).
func TestPanicInputs(t *testing.T) {
	for src, want := range map[string]string{
		"version = 1\n[[]\n":   "f.toml:2: unexpected end of table name",
		"\"\\":                 "f.toml:1: invalid escape in string",
		"version = 1\n\"\\":    "f.toml:2: invalid escape in string",
		"x = [\n[[],\n []]]\n": "f.toml:1: x: unknown key",
	} {
		for _, parse := range []func() error{
			func() error { _, err := ParseWpinit("f.toml", []byte(src)); return err },
			func() error { _, err := ParseInstances("f.toml", []byte(src), nil, defaultPorts); return err },
		} {
			fes := FieldErrors(parse())
			if len(fes) == 0 || !strings.HasPrefix(fes[len(fes)-1].Error(), want) {
				t.Errorf("%q: %v, want %q", src, fes, want)
				continue
			}
			if d := fes[len(fes)-1].Detail(); !strings.Contains(d, "f.toml") {
				t.Errorf("%q: detail %q", src, d)
			}
		}
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

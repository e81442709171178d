package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets feed any bytes to the whole parse of each file (decode, line index,
// validation, assignment) and require an answer: a config or errors, never a panic, and
// errors that render for the log (Error) and for a terminal (Detail). A panic the guard turned
// into ErrParserFailed fails the target too: it is a bug to fix, not an input to refuse.
//
// Seeds: every golden input of testdata/, and testdata/fuzz/FuzzXxx/ (Go's corpus format):
// the inputs that once broke a parser ("[[]" in the line index, `"\` in the TOML library's
// ErrorWithPosition, a nested array) or passed validation and broke later (a huge ring, NaN
// cpus, NUL in php_ini, id = 0).

func FuzzParseInstances(f *testing.F) {
	addFiles(f, "testdata/instances/*.toml")
	held := map[string]Slot{"held": {ID: 3, Port: 8003}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseInstances("instances.toml", data, held, defaultPorts, 8080)
		checkParse(t, cfg, err)
	})
}

func FuzzParseWpinit(f *testing.F) {
	addFiles(f, "testdata/wpinit/*.toml")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseWpinit("wpinit.toml", data)
		checkParse(t, cfg, err)
	})
}

func addFiles(f *testing.F, glob string) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in %s: %v", glob, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func checkParse[T any](t *testing.T, cfg *T, err error) {
	t.Helper()
	if err == nil {
		if cfg == nil {
			t.Fatal("no config and no error")
		}
		return
	}
	if cfg != nil {
		t.Fatal("a config together with an error")
	}
	if errors.Is(err, ErrParserFailed) {
		t.Fatalf("the parser panicked: %v", err)
	}
	fes := FieldErrors(err)
	if len(fes) == 0 {
		t.Fatalf("an error without a FieldError: %v", err)
	}
	for _, fe := range fes {
		if fe.File == "" || fe.Error() == "" || fe.Detail() == "" {
			t.Fatalf("an error that does not name its file: %#v", fe)
		}
	}
}

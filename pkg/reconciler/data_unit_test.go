package reconciler

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

func TestMaybeGunzip(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("SELECT 1;\n"))
	_ = zw.Close()
	for name, tc := range map[string]struct {
		in   []byte
		gzip bool
	}{
		"plain": {[]byte("SELECT 1;\n"), false}, "gzip": {gz.Bytes(), true}, "one byte": {[]byte("S"), false}, "empty": {nil, false},
	} {
		r, isGz, err := maybeGunzip(bytes.NewReader(tc.in))
		if err != nil || isGz != tc.gzip {
			t.Errorf("%s: gzip %v, %v", name, isGz, err)
			continue
		}
		got, _ := io.ReadAll(r)
		if tc.gzip && string(got) != "SELECT 1;\n" || !tc.gzip && !bytes.Equal(got, tc.in) {
			t.Errorf("%s: read %q", name, got)
		}
	}
}

// TestGuarded: once the call is over, a job that goes on writes and reads nothing of it.
func TestGuarded(t *testing.T) {
	var out bytes.Buffer
	w := &guardedWriter{w: &out}
	if _, err := w.Write([]byte("ab")); err != nil || w.bytes() != 2 {
		t.Fatal(err)
	}
	w.close()
	if _, err := w.Write([]byte("c")); !errors.Is(err, errCallerGone) || out.String() != "ab" {
		t.Errorf("write after close: %v, %q", err, out.String())
	}
	r := &guardedReader{r: strings.NewReader("xyz")}
	r.close()
	if _, err := r.Read(make([]byte, 3)); !errors.Is(err, errCallerGone) {
		t.Errorf("read after close: %v", err)
	}
}

// TestPrune: only the instance's scheduled archives past keep go, oldest first.
func TestPrune(t *testing.T) {
	root := t.TempDir()
	dir := backup.Dir(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var names []string
	for i := range 4 {
		names = append(names, backup.ScheduledFileName("blog", base.Add(time.Duration(i)*time.Hour)))
	}
	names = append(names, backup.FileName("blog", base), backup.ScheduledFileName("blog-2", base), backup.ScheduledFileName("shop", base))
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := &Reconciler{opt: Options{Root: root, BackupKeep: 2}, log: testLogger(t)}
	if err := r.prune("blog"); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	var got []string
	for _, p := range left {
		got = append(got, filepath.Base(p))
	}
	want := []string{names[4], names[2], names[3], names[5], names[6]}
	if strings.Join(got, " ") != strings.Join(slices.Sorted(slices.Values(want)), " ") {
		t.Errorf("left %v\nwant %v", got, slices.Sorted(slices.Values(want)))
	}
}

// TestDataStatusFromNote: a from declared after the creation, or changed, is noted.
func TestDataStatusFromNote(t *testing.T) {
	l := instance.Layout{Root: t.TempDir(), Name: "try"}
	for _, tc := range []struct{ recorded, declared, note string }{
		{"", "", ""},
		{"blog", "blog", ""},
		{"", "blog", `from = "blog" applies only when an instance is created: this one was created empty`},
		{"blog", "blog@x", `this one was created from "blog"`},
	} {
		p := &instance.Prepared{Info: &instance.Info{From: tc.recorded}}
		d := dataStatus(l, p, tc.declared)
		if tc.note == "" && d.FromNote != "" || !strings.Contains(d.FromNote, tc.note) {
			t.Errorf("recorded %q, declared %q: note %q", tc.recorded, tc.declared, d.FromNote)
		}
	}
}

package instance

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestReadInfoSeesEveryChange: .instance-info read through the cache is the file as it is
// now, whether wpinit replaced it (a rename), a hand edited it in place with the same size,
// or it went; what a caller does to the Info it got changes neither the file nor the next
// read.
func TestReadInfoSeesEveryChange(t *testing.T) {
	l := Layout{Root: t.TempDir(), Name: "blog"}
	if err := os.MkdirAll(l.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	declared := true
	first := &Info{Name: "blog", ID: 7, Port: 8007, Generated: map[string]string{"config/my.cnf": "aa"},
		XdebugDeclared: &declared, Activated: &Activation{Key: "k", Plugins: []string{"p"}}}
	if err := writeInfo(l, first); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInfo(l)
	if err != nil || got.Port != 8007 {
		t.Fatalf("first read: %+v %v", got, err)
	}
	got.Generated["config/my.cnf"], *got.XdebugDeclared, got.Activated.Plugins[0], got.Port = "zz", false, "q", 1
	again, err := ReadInfo(l)
	if err != nil || again.Port != 8007 || again.Generated["config/my.cnf"] != "aa" || !*again.XdebugDeclared || again.Activated.Plugins[0] != "p" {
		t.Fatalf("a caller's changes reached the next read: %+v %v", again, err)
	}

	// wpinit's own write: a new file renamed over the old one.
	if _, err := updateInfo(l, func(i *Info) { i.Port = 8008 }); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadInfo(l); err != nil || got.Port != 8008 {
		t.Fatalf("after updateInfo: %+v %v", got, err)
	}

	// A hand edit in place, same size, a moment later: the times tell.
	raw, err := os.ReadFile(l.InfoPath())
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), `"port": 8008`, `"port": 8009`, 1)
	if len(edited) != len(raw) || edited == string(raw) {
		t.Fatalf("the edit is not a same-size change of the port:\n%s", raw)
	}
	time.Sleep(10 * time.Millisecond)
	f, err := os.OpenFile(l.InfoPath(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(edited), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadInfo(l); err != nil || got.Port != 8009 {
		t.Fatalf("after an edit in place: %+v %v", got, err)
	}

	// writeInfo compares with the file as it is, not as it was cached.
	if err := writeInfo(l, &Info{Name: "blog", Port: 8008}); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadInfo(l); err != nil || got.Port != 8008 {
		t.Fatalf("after writeInfo over the edit: %+v %v", got, err)
	}

	// Gone, or a link in its place: read errors, as without the cache.
	if err := os.Remove(l.InfoPath()); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadInfo(l); err == nil {
		t.Fatal("a removed .instance-info still reads")
	}
	other := l.path("elsewhere")
	if err := os.WriteFile(other, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, l.InfoPath()); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadInfo(l); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("a linked .instance-info: %v, want the link refused", err)
	}
}

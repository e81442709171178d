package instance

import (
	"os"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// TestPreparerRemembers: an unchanged folder is not prepared again, and every change that
// Prepare would act on is seen: a hand edit in place, a removed folder, a replaced
// .instance-info, another declaration. Files younger than the racy window are not trusted.
func TestPreparerRemembers(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	pr := NewPreparer()
	calls := 0
	pr.prepare = func(root string, in *config.Instance, o Options, now time.Time) (*Prepared, error) {
		calls++
		return Prepare(root, in, o, now)
	}
	later := time.Now().Add(time.Hour)
	pr.now = func() time.Time { return later }
	prep := func(in *config.Instance) *Prepared {
		t.Helper()
		p, err := pr.Prepare(root, in, testOpts, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// seen: the change makes the next call prepare again, and the folder is then
	// remembered again within two calls (the call after a preparation that wrote a file).
	seen := func(what string, in *config.Instance) {
		t.Helper()
		n := calls
		prep(in)
		if calls != n+1 {
			t.Fatalf("%s: not prepared again", what)
		}
		prep(in)
		n = calls
		prep(in)
		prep(in)
		if calls != n {
			t.Fatalf("%s: prepared again though nothing changed since", what)
		}
	}
	seen("a new folder", in)
	p := prep(in)

	p.Info.Generated["x"] = "caller's" // the caller's copy is its own
	n := calls
	if q := prep(in); q.Info.Generated["x"] != "" {
		t.Fatal("a caller's change reached the remembered result")
	}
	if calls != n {
		t.Fatal("prepared again after a caller's change to its result")
	}

	web := p.Layout.ConfigFile(RoleWeb, in.Web)
	b, err := os.ReadFile(web)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= ' ' ^ '#' // same size, in place
	if err := os.WriteFile(web, b, 0o644); err != nil {
		t.Fatal(err)
	}
	seen("a hand edit in place", in)

	if err := os.RemoveAll(p.Layout.WordPressDir()); err != nil {
		t.Fatal(err)
	}
	seen("a removed folder", in)
	if _, err := os.Stat(p.Layout.WordPressDir()); err != nil {
		t.Fatalf("removed folder not made again: %v", err)
	}

	info, err := os.ReadFile(p.Layout.InfoPath())
	if err != nil {
		t.Fatal(err)
	}
	tmp := p.Layout.InfoPath() + ".new"
	if err := os.WriteFile(tmp, info, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p.Layout.InfoPath()); err != nil {
		t.Fatal(err)
	}
	seen("a replaced .instance-info", in)

	other := *in
	other.Port = 8017
	seen("another declaration", &other)

	pr.now = time.Now // every file is fresh: nothing is trusted
	if err := os.Remove(p.Layout.InfoPath()); err != nil {
		t.Fatal(err)
	}
	n = calls
	for range 3 {
		prep(&other)
	}
	if calls != n+3 {
		t.Fatalf("files within the racy window: prepared %d times of 3", calls-n)
	}
	pr.now = func() time.Time { return later }
	prep(&other)
	n = calls
	prep(&other)
	pr.Forget(p.Layout.Dir())
	prep(&other)
	if calls != n+1 {
		t.Fatal("a forgotten folder was not prepared again")
	}
	prep(&other)
	n = calls
	pr.Retain(map[string]bool{p.Layout.Dir(): true})
	prep(&other)
	pr.Retain(map[string]bool{"/elsewhere": true})
	if len(pr.last) != 0 {
		t.Fatalf("Retain kept %d folders not asked for", len(pr.last))
	}
	prep(&other)
	if calls != n+1 {
		t.Fatalf("Retain: prepared %d times, want once (after the folder was dropped)", calls-n)
	}
}

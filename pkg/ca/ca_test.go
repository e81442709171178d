package ca

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// TestOpenKeepsTheCA: the CA is made once with its modes, and every later Open finds the
// same one.
func TestOpenKeepsTheCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".ca")
	a, err := Open(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]os.FileMode{KeyFile: 0o600, CertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", file, fi.Mode().Perm(), err, want)
		}
	}
	b, err := Open(dir, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if string(a.CertPEM()) != string(b.CertPEM()) {
		t.Error("a second Open made another CA")
	}
	if !a.cert.IsCA || a.cert.NotAfter.Before(t0.Add(9*365*24*time.Hour)) {
		t.Errorf("CA: IsCA %v, until %s", a.cert.IsCA, a.cert.NotAfter)
	}
}

// TestOpenRefusesHalfACA: a missing, broken or foreign file is an error; the CA is never
// made again over it.
func TestOpenRefusesHalfACA(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other")
	if _, err := Open(other, t0); err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func(dir string){
		"no certificate": func(dir string) { os.Remove(filepath.Join(dir, CertFile)) },
		"no key":         func(dir string) { os.Remove(filepath.Join(dir, KeyFile)) },
		"broken key":     func(dir string) { os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600) },
		"another's certificate": func(dir string) {
			b, _ := os.ReadFile(filepath.Join(other, CertFile))
			os.WriteFile(filepath.Join(dir, CertFile), b, 0o644)
		},
		"a link": func(dir string) {
			os.Remove(filepath.Join(dir, KeyFile))
			os.Symlink(filepath.Join(other, KeyFile), filepath.Join(dir, KeyFile))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Open(dir, t0); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, KeyFile))
			damage(dir)
			if _, err := Open(dir, t0); err == nil {
				t.Fatal("Open accepted a damaged CA")
			}
			after, _ := os.ReadFile(filepath.Join(dir, KeyFile))
			if name != "no key" && name != "broken key" && name != "a link" && string(before) != string(after) {
				t.Error("Open replaced the key")
			}
		})
	}
}

// TestEnsureLeaf: a leaf verifies for its names against the CA (as a browser that trusts
// it would), is kept while it is fresh, and issued again when its names change or it has
// less than RenewBefore left.
func TestEnsureLeaf(t *testing.T) {
	a, err := Open(t.TempDir(), t0)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"site-84.localhost", "blog.test", "*.blog.test"}
	l, err := a.Ensure("site-84", names, t0)
	if err != nil || !l.Issued {
		t.Fatalf("first Ensure: %+v %v", l, err)
	}
	pair, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	for _, host := range []string{"site-84.localhost", "blog.test", "www.blog.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: a.Pool(), CurrentTime: t0}); err != nil {
			t.Errorf("verify %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.localhost", Roots: a.Pool(), CurrentTime: t0}); err == nil {
		t.Error("the leaf verifies for a name it does not have")
	}
	if fi, _ := os.Stat(l.KeyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("leaf key mode %v", fi.Mode().Perm())
	}
	steps := []struct {
		what  string
		names []string
		now   time.Time
		issue bool
	}{
		{"unchanged, fresh", names, t0.Add(24 * time.Hour), false},
		{"61 days on: 29 left", names, t0.Add(61 * 24 * time.Hour), true},
		{"just renewed", names, t0.Add(62 * 24 * time.Hour), false},
		{"a name more", append(names, "shop.test"), t0.Add(62 * 24 * time.Hour), true},
	}
	for _, s := range steps {
		got, err := a.Ensure("site-84", s.names, s.now)
		if err != nil || got.Issued != s.issue {
			t.Errorf("%s: issued %v (%v), want %v", s.what, got.Issued, err, s.issue)
		}
	}
	if _, err := a.Ensure("../x", names, t0); err == nil {
		t.Error("Ensure accepted a name with a path in it")
	}
}

// TestEnsureMismatchedKey: a certificate whose key beside it is another (a crash between
// the two writes) is issued again.
func TestEnsureMismatchedKey(t *testing.T) {
	a, _ := Open(t.TempDir(), t0)
	l, _ := a.Ensure("a", []string{"a.localhost"}, t0)
	b, _ := a.Ensure("b", []string{"b.localhost"}, t0)
	key, _ := os.ReadFile(b.KeyFile)
	os.WriteFile(l.KeyFile, key, 0o600)
	if got, err := a.Ensure("a", []string{"a.localhost"}, t0); err != nil || !got.Issued {
		t.Errorf("mismatched pair: issued %v (%v), want a new one", got.Issued, err)
	}
}

func TestPrune(t *testing.T) {
	a, _ := Open(t.TempDir(), t0)
	for _, n := range []string{"a", "b", "_services"} {
		if _, err := a.Ensure(n, []string{strings.TrimPrefix(n, "_") + ".localhost"}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Prune([]string{"a", "_services"}); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(a.dir, leavesDir, "*"))
	if len(left) != 4 {
		t.Errorf("after Prune: %v, want a's and _services' pairs", left)
	}
}

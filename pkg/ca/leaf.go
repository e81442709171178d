package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
)

// Lifetime of a leaf, and how long before its end it is issued again: checked at every
// Ensure, which the router runs at each change of its sites and once a day.
const (
	LeafLifetime = 90 * 24 * time.Hour
	RenewBefore  = 30 * 24 * time.Hour
)

// leavesDir holds the leaves under the CA's folder: NAME.crt and NAME.key.
const leavesDir = "leaves"

// Leaf is one issued certificate and its key, on disk.
type Leaf struct {
	Name     string
	CertFile string
	KeyFile  string
	DNSNames []string
	NotAfter time.Time
	Issued   bool // Ensure issued it now (it was missing, stale or about to expire)
}

var leafNameRE = regexp.MustCompile(`^_?[a-z0-9][a-z0-9-]{0,62}$`)

// Ensure returns the leaf called name for dns (its first name is the subject), issuing it
// again when it is missing, unreadable, not this CA's, for other names, or within
// RenewBefore of its end.
func (a *Authority) Ensure(name string, dns []string, now time.Time) (Leaf, error) {
	if !leafNameRE.MatchString(name) || len(dns) == 0 {
		return Leaf{}, fmt.Errorf("issue certificate %q: invalid name or no DNS names", name)
	}
	l := Leaf{Name: name, DNSNames: dns, CertFile: a.leafPath(name, ".crt"), KeyFile: a.leafPath(name, ".key")}
	if c := a.current(l); c != nil && c.NotAfter.Sub(now) > RenewBefore {
		l.NotAfter = c.NotAfter
		return l, nil
	}
	if err := a.issue(&l, now); err != nil {
		return Leaf{}, fmt.Errorf("issue certificate %q: %w", name, err)
	}
	return l, nil
}

func (a *Authority) leafPath(name, ext string) string {
	return filepath.Join(a.dir, leavesDir, name+ext)
}

// current is the leaf's certificate when it is this CA's, for exactly l's names, and its key
// is the one beside it; nil otherwise.
func (a *Authority) current(l Leaf) *x509.Certificate {
	certPEM, err := readFile(l.CertFile)
	if err != nil {
		return nil
	}
	keyPEM, err := readFile(l.KeyFile)
	if err != nil {
		return nil
	}
	c, err := decodeCert(certPEM)
	if err != nil || c.CheckSignatureFrom(a.cert) != nil || !slices.Equal(c.DNSNames, l.DNSNames) {
		return nil
	}
	key, err := decodeKey(keyPEM)
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); err != nil || !ok || !pub.Equal(&key.PublicKey) {
		return nil
	}
	return c
}

func (a *Authority) issue(l *Leaf, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"wp-dind"}, CommonName: strings.TrimPrefix(l.DNSNames[0], "*.")},
		DNSNames:     l.DNSNames,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(LeafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.CertFile), 0o700); err != nil {
		return err
	}
	// Key first: a crash in between leaves a pair that does not match, issued again next time.
	if err := atomicfile.Write(l.KeyFile, keyPEM, 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(l.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	l.NotAfter, l.Issued = tmpl.NotAfter, true
	return nil
}

// Prune removes the leaves whose name is not in keep (sites removed from instances.toml).
func (a *Authority) Prune(keep []string) error {
	entries, err := os.ReadDir(filepath.Join(a.dir, leavesDir))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list certificates: %w", err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".crt"), ".key")
		if e.Type().IsRegular() && !slices.Contains(keep, name) {
			if err := os.Remove(filepath.Join(a.dir, leavesDir, e.Name())); err != nil {
				return fmt.Errorf("remove certificate: %w", err)
			}
		}
	}
	return nil
}

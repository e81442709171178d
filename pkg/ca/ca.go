package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
)

// Files of the CA in its folder.
const (
	KeyFile  = "ca.key"
	CertFile = "ca.crt"
)

// caLifetime is the CA certificate's validity: long, because replacing it means trusting a
// new one in every browser.
const caLifetime = 10 * 365 * 24 * time.Hour

// Authority is an opened CA: its key and certificate, and the folder its leaves live in.
type Authority struct {
	dir  string
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pem  []byte
}

// Open loads the CA in dir, or makes it when dir holds neither file. Half a CA (one file
// without the other) or a file that does not parse is an error: the CA is never replaced.
func Open(dir string, now time.Time) (*Authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create CA folder: %w", err)
	}
	keyPEM, kerr := readFile(filepath.Join(dir, KeyFile))
	certPEM, cerr := readFile(filepath.Join(dir, CertFile))
	switch {
	case errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist):
		return create(dir, now)
	case kerr != nil:
		return nil, fmt.Errorf("open CA: %w", kerr)
	case cerr != nil:
		return nil, fmt.Errorf("open CA: %w", cerr)
	}
	a, err := parse(dir, keyPEM, certPEM)
	if err != nil {
		return nil, fmt.Errorf("open CA in %s: %w", dir, err)
	}
	return a, nil
}

func create(dir string, now time.Time) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"wp-dind"}, CommonName: "wp-dind local CA " + now.UTC().Format("2006-01-02")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a crash in between leaves a key without a certificate, which Open
	// reports instead of making a second CA over it.
	if err := atomicfile.Write(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write CA key: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write CA certificate: %w", err)
	}
	return parse(dir, keyPEM, certPEM)
}

func parse(dir string, keyPEM, certPEM []byte) (*Authority, error) {
	key, err := decodeKey(keyPEM)
	if err != nil {
		return nil, err
	}
	cert, err := decodeCert(certPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) || !cert.IsCA {
		return nil, errors.New("ca.crt is not the CA certificate of ca.key")
	}
	return &Authority{dir: dir, key: key, cert: cert, pem: certPEM}, nil
}

// CertPEM is the CA certificate, PEM-encoded: what `ctl ca` prints and browsers import.
func (a *Authority) CertPEM() []byte { return a.pem }

// CertPath is the CA certificate's file.
func (a *Authority) CertPath() string { return filepath.Join(a.dir, CertFile) }

// Pool is a certificate pool holding only the CA, for clients that trust it.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("read random serial: %v", err)) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func decodeKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("key: no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key: %T, want an ECDSA key", k)
	}
	return ek, nil
}

func decodeCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("certificate: no PEM CERTIFICATE block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return c, nil
}

package instance

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
)

// Secrets are an instance's generated passwords. They are written once, to a 0600 file, and
// never change afterwards: the database keeps them in data/mysql.
type Secrets struct {
	DBRootPassword string
	DBPassword     string
	AdminPassword  string
}

// Keys of the secrets file; docker-compose.yml refers to them as ${KEY}.
const (
	SecretDBRoot = "DB_ROOT_PASSWORD"
	SecretDB     = "DB_PASSWORD"
	SecretAdmin  = "WP_ADMIN_PASSWORD"
)

// String keeps secrets out of logs and error messages, whatever formats them.
func (Secrets) String() string   { return "[secrets redacted]" }
func (Secrets) GoString() string { return "[secrets redacted]" }

// Value returns the secret stored under key.
func (s Secrets) Value(key string) string {
	switch key {
	case SecretDBRoot:
		return s.DBRootPassword
	case SecretDB:
		return s.DBPassword
	case SecretAdmin:
		return s.AdminPassword
	}
	return ""
}

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// NewPassword returns n characters drawn uniformly from an alphabet that needs no quoting in
// env files, shells, YAML or SQL (about 5.8 bits each: 32 characters are 186 bits).
func NewPassword(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 64)
	limit := byte(256 - 256%len(passwordAlphabet)) // rejection sampling keeps it uniform
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return string(out), nil
}

// ensureSecrets reads the instance's secrets, generating and writing them (mode 0600) the
// first time. Existing values are never replaced; a missing one is added.
func ensureSecrets(l Layout) (Secrets, error) {
	s, err := ReadSecrets(l)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	changed := false
	for _, p := range []*string{&s.DBRootPassword, &s.DBPassword, &s.AdminPassword} {
		if *p == "" {
			if *p, err = NewPassword(32); err != nil {
				return s, err
			}
			changed = true
		}
	}
	if !changed {
		return s, nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Secrets of instance %q, generated once by wpinit. docker-compose.yml reads them.\n", l.Name)
	for _, k := range []string{SecretDBRoot, SecretDB, SecretAdmin} {
		fmt.Fprintf(&b, "%s=%s\n", k, s.Value(k))
	}
	if err := atomicfile.Write(l.SecretsPath(), b.Bytes(), 0o600); err != nil {
		return s, fmt.Errorf("write secrets of %q: %w", l.Name, err)
	}
	return s, nil
}

// ReadSecrets reads the instance's secrets file.
func ReadSecrets(l Layout) (Secrets, error) {
	var s Secrets
	data, err := readFile(l.SecretsPath())
	if err != nil {
		return s, fmt.Errorf("read secrets of %q: %w", l.Name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case SecretDBRoot:
			s.DBRootPassword = v
		case SecretDB:
			s.DBPassword = v
		case SecretAdmin:
			s.AdminPassword = v
		}
	}
	return s, nil
}

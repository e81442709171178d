package ca

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// maxFile bounds what readFile reads: a PEM key or certificate is a few hundred bytes.
const maxFile = 64 << 10

// readFile reads a file of the CA's folder without following a link at its name.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: not followed", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFile)
	}
	return b, nil
}

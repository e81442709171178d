package images

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// The bounds of reading a tarball before anything is sent to dockerd. A tarball past one of
// them fails alone, with its reason in Status; the others go on. docs/boot.md lists them.
const (
	// InflateRatio and MinInflate bound what a gzipped tarball may decompress to while its
	// manifest is looked for (manifest.json comes after the layers, so the whole stream is
	// read): InflateRatio times its size on disk, and at least MinInflate. docker save's
	// layers compress 2-5 times; a gzip bomb, a thousand times.
	InflateRatio = 32
	MinInflate   = 64 << 20
	// MaxEntries bounds the entries of one tar (an image of 127 layers has about 400).
	MaxEntries = 100_000
	// MaxTagsPerImage and MaxRefs bound the tags of one image and the references (tags,
	// or IDs of untagged images) of one tarball: the check inspects each one.
	MaxTagsPerImage = 64
	MaxRefs         = 256
)

// ErrLimit marks a tarball refused for passing one of the bounds above.
var ErrLimit = errors.New("over the image loader's limits")

// inflateLimit is what a gzipped tarball of size bytes may decompress to.
func inflateLimit(size int64) int64 { return max(MinInflate, InflateRatio*size) }

// inflated reads a decompressed stream until ctx ends, and fails once more than max bytes have
// come out of it: a bomb's cost is in the decompression, not in the bytes on disk.
type inflated struct {
	ctx  context.Context
	r    io.Reader
	n    int64
	max  int64
	size int64 // of the compressed tarball, for the message
}

func (b *inflated) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n, fmt.Errorf("%w: a gzip stream of %d bytes that decompresses to more than %d (at most %d times its size, and %d MiB)",
			ErrLimit, b.size, b.max, InflateRatio, MinInflate>>20)
	}
	return n, err
}

// ctxFile reads a file until ctx ends; it seeks as the file does, so that a plain tar's
// bodies are still skipped without being read.
type ctxFile struct {
	ctx context.Context
	io.ReadSeeker
}

func (f ctxFile) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	return f.ReadSeeker.Read(p)
}

package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// ErrCorrupt marks a tarball that is not a readable `docker save` archive.
var ErrCorrupt = errors.New("not a readable docker save archive")

// Archive is what a `docker save` tarball holds, as read from its manifest.json (and, in the
// OCI layout Docker 25+ writes, its index.json).
type Archive struct {
	Images []ArchiveImage
}

// ArchiveImage is one image of an archive.
type ArchiveImage struct {
	// ID is the image ID dockerd gives it once loaded: the digest of its config blob.
	ID string
	// RepoTags are its tags ("wp-php:8.4"); none when it was saved by ID.
	RepoTags []string
	// AltIDs maps a RepoTag to the manifest digest index.json lists for it, which is the
	// image ID under dockerd's containerd image store.
	AltIDs map[string]string
}

// Refs lists what Status shows for the archive: every tag, or the ID of an untagged image.
func (a Archive) Refs() []string {
	var refs []string
	for _, img := range a.Images {
		if len(img.RepoTags) == 0 {
			refs = append(refs, img.ID)
		}
		refs = append(refs, img.RepoTags...)
	}
	return refs
}

// manifestEntry is one element of manifest.json (moby's image/tarexport format).
type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// ociIndex is the part of index.json that names images.
type ociIndex struct {
	Manifests []struct {
		Digest      string            `json:"digest"`
		Annotations map[string]string `json:"annotations"`
	} `json:"manifests"`
}

// maxMetaSize bounds manifest.json and index.json: they list images, not data.
const maxMetaSize = 16 << 20

// ReadArchive streams through a tarball (plain or gzip) and returns its images. It checks
// that the whole tar reads to its end and that every file the manifest names is in it, so a
// truncated or corrupt tarball is reported here, before dockerd is asked to load it. It stops
// when ctx ends, and at the bounds of limits.go (ErrLimit).
func ReadArchive(ctx context.Context, file string) (Archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return Archive{}, fmt.Errorf("open image tarball: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Archive{}, fmt.Errorf("stat image tarball: %w", err)
	}
	a, err := readTarball(ctx, f, fi.Size())
	switch {
	case ctx.Err() != nil:
		return Archive{}, fmt.Errorf("read %s: %w", file, ctx.Err())
	case errors.Is(err, ErrLimit):
		return Archive{}, fmt.Errorf("read %s: %w", file, err)
	case err != nil:
		return Archive{}, fmt.Errorf("read %s: %w: %w", file, ErrCorrupt, err)
	}
	return a, nil
}

// readTarball reads the archive of size bytes in r.
func readTarball(ctx context.Context, r io.ReadSeeker, size int64) (Archive, error) {
	src, err := decompressed(ctx, r, size)
	if err != nil {
		return Archive{}, err
	}
	return readArchive(src)
}

// decompressed returns r itself for a plain tar (an io.Seeker: tar skips file bodies by
// seeking) or a bounded gzip reader when the content starts with gzip's magic, whatever its
// name. Both stop when ctx ends.
func decompressed(ctx context.Context, r io.ReadSeeker, size int64) (io.Reader, error) {
	var magic [2]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if n == 2 && magic == [2]byte{0x1f, 0x8b} {
		zr, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<20))
		if err != nil {
			return nil, err
		}
		return &inflated{ctx: ctx, r: zr, max: inflateLimit(size), size: size}, nil
	}
	return ctxFile{ctx: ctx, ReadSeeker: r}, nil
}

func readArchive(r io.Reader) (Archive, error) {
	tr := tar.NewReader(r)
	names := map[string]bool{}
	var manifest, index []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Archive{}, fmt.Errorf("after %d entries: %w", len(names), err)
		}
		if len(names) == MaxEntries {
			return Archive{}, fmt.Errorf("%w: more than %d entries", ErrLimit, MaxEntries)
		}
		name := path.Clean(h.Name)
		names[name] = true
		switch name {
		case "manifest.json":
			manifest, err = readSmall(tr, h)
		case "index.json":
			index, err = readSmall(tr, h)
		}
		if err != nil {
			return Archive{}, fmt.Errorf("read %s: %w", name, err)
		}
	}
	// Read what follows the tar's end too: a gzip stream's checksum is at its very end.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return Archive{}, fmt.Errorf("after the last entry: %w", err)
	}
	if manifest == nil {
		return Archive{}, fmt.Errorf("no manifest.json among %d entries", len(names))
	}
	return parseArchive(manifest, index, names)
}

func readSmall(tr *tar.Reader, h *tar.Header) ([]byte, error) {
	if h.Size > maxMetaSize {
		return nil, fmt.Errorf("%d bytes, more than %d", h.Size, maxMetaSize)
	}
	return io.ReadAll(tr)
}

// parseArchive builds the Archive from manifest.json and, when present, index.json. names
// (nil to skip the check) are the tar's entries, which must hold every config and layer.
func parseArchive(manifest, index []byte, names map[string]bool) (Archive, error) {
	var entries []manifestEntry
	if err := json.Unmarshal(manifest, &entries); err != nil {
		return Archive{}, fmt.Errorf("parse manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return Archive{}, errors.New("manifest.json lists no image")
	}
	if err := checkRefs(entries); err != nil {
		return Archive{}, err
	}
	alt, err := indexIDs(index)
	if err != nil {
		return Archive{}, err
	}
	var a Archive
	for i, e := range entries {
		img, err := archiveImage(e, alt)
		if err != nil {
			return Archive{}, fmt.Errorf("manifest.json image %d: %w", i, err)
		}
		if err := checkPresent(e, names); err != nil {
			return Archive{}, fmt.Errorf("manifest.json image %d: %w", i, err)
		}
		a.Images = append(a.Images, img)
	}
	return a, nil
}

// checkRefs bounds the tags of each image and the references of the whole manifest, before
// any is parsed: the skip check inspects each one.
func checkRefs(entries []manifestEntry) error {
	refs := 0
	for i, e := range entries {
		if len(e.RepoTags) > MaxTagsPerImage {
			return fmt.Errorf("%w: manifest.json image %d has %d tags, more than %d", ErrLimit, i, len(e.RepoTags), MaxTagsPerImage)
		}
		refs += max(1, len(e.RepoTags)) // an untagged image is inspected by its ID
	}
	if refs > MaxRefs {
		return fmt.Errorf("%w: manifest.json names %d images and tags, more than %d", ErrLimit, refs, MaxRefs)
	}
	return nil
}

var digestHex = regexp.MustCompile(`^[a-f0-9]{64}$`)

// configID turns a manifest's Config path into the image ID: "<hex>.json" (Docker up to 24)
// or "blobs/sha256/<hex>" (Docker 25+, OCI layout) both give "sha256:<hex>".
func configID(config string) (string, error) {
	base := strings.TrimSuffix(path.Base(config), ".json")
	alg := "sha256"
	if dir := path.Dir(config); strings.HasPrefix(dir, "blobs/") {
		alg = path.Base(dir)
	}
	if alg != "sha256" || !digestHex.MatchString(base) {
		return "", fmt.Errorf("config %q is not named by a sha256 digest", config)
	}
	return "sha256:" + base, nil
}

func archiveImage(e manifestEntry, alt map[string]string) (ArchiveImage, error) {
	id, err := configID(e.Config)
	if err != nil {
		return ArchiveImage{}, err
	}
	img := ArchiveImage{ID: id, RepoTags: e.RepoTags}
	for _, tag := range e.RepoTags {
		named, err := reference.ParseNormalizedNamed(tag)
		if err != nil {
			return ArchiveImage{}, fmt.Errorf("parse tag %q: %w", tag, err)
		}
		if d, ok := alt[named.String()]; ok {
			if img.AltIDs == nil {
				img.AltIDs = map[string]string{}
			}
			img.AltIDs[tag] = d
		}
	}
	return img, nil
}

// indexIDs maps the full reference of each image index.json names to its manifest digest.
func indexIDs(index []byte) (map[string]string, error) {
	if index == nil {
		return nil, nil
	}
	var idx ociIndex
	if err := json.NewDecoder(bytes.NewReader(index)).Decode(&idx); err != nil {
		return nil, fmt.Errorf("parse index.json: %w", err)
	}
	if len(idx.Manifests) > MaxRefs {
		return nil, fmt.Errorf("%w: index.json lists %d manifests, more than %d", ErrLimit, len(idx.Manifests), MaxRefs)
	}
	out := map[string]string{}
	for _, m := range idx.Manifests {
		name := m.Annotations["io.containerd.image.name"]
		if name == "" || m.Digest == "" {
			continue
		}
		if named, err := reference.ParseNormalizedNamed(name); err == nil {
			out[named.String()] = m.Digest
		}
	}
	return out, nil
}

func checkPresent(e manifestEntry, names map[string]bool) error {
	if names == nil {
		return nil
	}
	for _, f := range append([]string{e.Config}, e.Layers...) {
		if !names[path.Clean(f)] {
			return fmt.Errorf("names %s, which the tarball lacks", f)
		}
	}
	return nil
}

package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// handle takes one tarball from pending to settled: read its manifest, compare its images
// with dockerd's, load it when one differs, and check the load gave the expected IDs.
func (l *Loader) handle(ctx context.Context, t *tarball) {
	log := l.log.With("tarball", t.st.Name)
	if err := ctx.Err(); err != nil {
		l.settle(t, Failed, "", fmt.Errorf("check image tarball: %w", err))
		return
	}
	l.update(t, func(st *TarballStatus) { st.State = Checking })
	a, err := ReadArchive(t.path)
	if err != nil {
		log.Error("failed to read image tarball", "error", err)
		l.settle(t, Failed, "", err)
		return
	}
	l.update(t, func(st *TarballStatus) { st.Images = a.Refs() })
	differ := l.differences(ctx, a)
	if err := ctx.Err(); err != nil {
		l.settle(t, Failed, "", fmt.Errorf("check image tarball: %w", err))
		return
	}
	if len(differ) == 0 {
		reason := fmt.Sprintf("all %d images present with the same ID", len(a.Images))
		log.Info("image tarball skipped", "reason", reason)
		l.settle(t, Skipped, reason, nil)
		return
	}
	reason := strings.Join(differ, "; ")
	log.Info("loading image tarball", "reason", reason, "size", t.st.Size)
	l.update(t, func(st *TarballStatus) { st.State = Loading; st.Reason = reason })
	loaded, err := l.load(ctx, t)
	if err == nil {
		if still := l.differences(ctx, a); len(still) > 0 {
			err = fmt.Errorf("verify load of %s: %s", t.st.Name, strings.Join(still, "; "))
		}
	}
	if err != nil {
		log.Error("failed to load image tarball", "error", err)
		l.settle(t, Failed, reason, err)
		return
	}
	log.Info("image tarball loaded", "images", strings.Join(loaded, ","), "bytes", t.read.Load(),
		"duration", time.Since(t.start).Round(time.Millisecond))
	l.settle(t, Loaded, reason, nil)
}

// differences lists, for each tag of the archive, why dockerd does not hold it as the archive
// does: absent, another image ID, or an inspect error (then loading is the safe choice). An
// untagged image is looked up by its ID. Empty means nothing to load.
func (l *Loader) differences(ctx context.Context, a Archive) []string {
	var out []string
	for _, img := range a.Images {
		refs := img.RepoTags
		if len(refs) == 0 {
			refs = []string{img.ID}
		}
		for _, ref := range refs {
			if d := l.difference(ctx, ref, img); d != "" {
				out = append(out, d)
			}
		}
	}
	return out
}

func (l *Loader) difference(ctx context.Context, ref string, img ArchiveImage) string {
	ctx, cancel := context.WithTimeout(ctx, l.opts.InspectTimeout)
	defer cancel()
	got, err := l.api.ImageInspect(ctx, ref)
	switch {
	case cerrdefs.IsNotFound(err):
		return ref + " absent"
	case err != nil:
		return fmt.Sprintf("inspect %s: %v", ref, err)
	case got.ID == img.ID || (img.AltIDs[ref] != "" && got.ID == img.AltIDs[ref]):
		return ""
	}
	if alt := img.AltIDs[ref]; alt != "" {
		// under the containerd image store the ID is the manifest's digest: show both
		return fmt.Sprintf("%s is %s, tarball has %s (manifest %s)", ref, shortID(got.ID), shortID(img.ID), shortID(alt))
	}
	return fmt.Sprintf("%s is %s, tarball has %s", ref, shortID(got.ID), shortID(img.ID))
}

func shortID(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// load sends the tarball to dockerd and reads the response to its end, under its own
// timeout. It returns the references dockerd reports loaded.
func (l *Loader) load(ctx context.Context, t *tarball) ([]string, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, fmt.Errorf("open image tarball: %w", err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, l.opts.LoadTimeout)
	defer cancel()
	resp, err := l.api.ImageLoad(ctx, countingReader{r: f, n: &t.read}, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, fmt.Errorf("load image tarball %s: %w", t.st.Name, err)
	}
	defer resp.Close()
	loaded, err := decodeLoadStream(resp)
	if err != nil {
		return loaded, fmt.Errorf("load image tarball %s: %w", t.st.Name, err)
	}
	return loaded, nil
}

// LoadError is an error dockerd reported inside the load response (an HTTP 200 stream).
type LoadError struct {
	Message string
}

func (e *LoadError) Error() string { return "dockerd: " + e.Message }

// loadMessage is one JSON message of the /images/load response.
type loadMessage struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// decodeLoadStream reads the load response to its end. dockerd answers 200 before it reads
// the tarball, so a failed load shows only as an "error" message inside the stream.
func decodeLoadStream(r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	var loaded []string
	for {
		var m loadMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return loaded, nil
		}
		if err != nil {
			return loaded, fmt.Errorf("read load response: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return loaded, &LoadError{Message: m.ErrorDetail.Message}
		}
		if m.Error != "" {
			return loaded, &LoadError{Message: m.Error}
		}
		for line := range strings.Lines(m.Stream) {
			if ref, ok := loadedRef(line); ok && !slices.Contains(loaded, ref) {
				loaded = append(loaded, ref)
			}
		}
	}
}

// loadedRef extracts X from "Loaded image: X" or "Loaded image ID: X".
func loadedRef(line string) (string, bool) {
	line = strings.TrimSpace(line)
	for _, p := range []string{"Loaded image ID: ", "Loaded image: "} {
		if ref, ok := strings.CutPrefix(line, p); ok {
			return ref, true
		}
	}
	return "", false
}

// update changes a tarball's status under the lock.
func (l *Loader) update(t *tarball, f func(*TarballStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.start.IsZero() {
		t.start = time.Now()
	}
	f(&t.st)
}

// settle puts a tarball in its final state.
func (l *Loader) settle(t *tarball, s State, reason string, err error) {
	l.update(t, func(st *TarballStatus) {
		st.State = s
		st.Reason = reason
		st.Duration = time.Since(t.start).Round(time.Millisecond)
		if err != nil {
			st.Error = err.Error()
		}
	})
}

package images

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
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
	a, err := ReadArchive(ctx, t.path)
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
			if ctx.Err() != nil {
				return append(out, ctx.Err().Error())
			}
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
	got, err := l.api.InspectImage(ctx, ref)
	switch {
	case err != nil:
		return fmt.Sprintf("inspect %s: %v", ref, err)
	case got == nil:
		return ref + " absent"
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
	loaded, err := l.api.LoadImage(ctx, countingReader{r: f, n: &t.read})
	if err != nil {
		return loaded, fmt.Errorf("load image tarball %s: %w", t.st.Name, err)
	}
	return loaded, nil
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

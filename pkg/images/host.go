package images

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// Host is the host engine as a source of images: the socket it answers on (for the status),
// its client, and the refs the declared instances need. Err, when set, is why there is no
// client or no list of refs: the pass shows it and fetches nothing.
type Host struct {
	Socket string
	API    docker.ImageSource
	Refs   []string
	Err    error
}

// HostImageStatus is one image the instances need, as the host pass handled it.
type HostImageStatus struct {
	Ref       string        `json:"ref"`
	ID        string        `json:"id,omitempty"` // the host's image ID
	Size      int64         `json:"size"`         // the host image's size: about what the stream carries
	State     State         `json:"state"`        // Pending, Checking, Loading, then Loaded, Skipped or Failed
	BytesRead int64         `json:"bytes_read"`   // streamed into the inner engine so far
	Reason    string        `json:"reason,omitempty"`
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"` // the stream and the load, once settled
}

// HostStatus is the host pass: the socket, an error that stopped the whole pass (no
// client), and each needed image.
type HostStatus struct {
	Socket string            `json:"socket"`
	Error  string            `json:"error,omitempty"`
	Images []HostImageStatus `json:"images"`
}

// hostImage is the loader's record of one needed ref; the Loader's mutex guards st.
type hostImage struct {
	st    HostImageStatus
	read  atomic.Int64
	start time.Time
}

// runHost makes the host pass of the boot, after the tarballs, over Host.Refs.
func (l *Loader) runHost(ctx context.Context) {
	h := l.opts.Host
	if h == nil {
		return
	}
	if h.Err != nil {
		l.log.Error("failed to use the host engine's images", "socket", h.Socket, "error", h.Err)
		return
	}
	l.hostMu.Lock()
	defer l.hostMu.Unlock()
	l.hostPass(ctx, h.Refs)
}

// Fetch makes a host pass over those of refs no pass has handled yet (the images of
// instances declared after boot) and returns them, once settled; nothing without a usable
// host. Passes run one at a time. Safe for concurrent use.
func (l *Loader) Fetch(ctx context.Context, refs []string) []string {
	if h := l.opts.Host; h == nil || h.Err != nil {
		return nil
	}
	l.hostMu.Lock()
	defer l.hostMu.Unlock()
	fresh := l.unseen(refs)
	if len(fresh) > 0 {
		l.hostPass(ctx, fresh)
	}
	return fresh
}

// hostPass asks both engines about every ref, plans, and streams the refs to fetch,
// opts.Parallel at a time. Called with hostMu held.
func (l *Loader) hostPass(ctx context.Context, refs []string) {
	imgs := l.registerHost(refs)
	inner, host := l.lookups(ctx, l.api, refs), l.lookups(ctx, l.opts.Host.API, refs)
	steps := planHost(refs, inner, host)
	sem := make(chan struct{}, l.opts.Parallel)
	var wg sync.WaitGroup
	for i, s := range steps {
		img := imgs[i]
		l.updateHost(img, func(st *HostImageStatus) { st.ID, st.Size, st.Reason = s.HostID, s.Size, s.Reason })
		if !s.Fetch {
			l.log.Info("host image skipped", "image", s.Ref, "state", s.State, "reason", s.Reason)
			l.settleHost(img, s.State, nil)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			l.settleHost(img, Failed, fmt.Errorf("fetch image %s: %w", s.Ref, ctx.Err()))
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			l.fetch(ctx, img, s)
		})
	}
	wg.Wait()
}

// inspector is the one call both engines answer for the plan.
type inspector interface {
	InspectImage(ctx context.Context, ref string) (*docker.Image, error)
}

// lookups inspects every ref on one engine, each call under its own timeout.
func (l *Loader) lookups(ctx context.Context, api inspector, refs []string) map[string]Lookup {
	out := make(map[string]Lookup, len(refs))
	for _, ref := range refs {
		ictx, cancel := context.WithTimeout(ctx, l.opts.InspectTimeout)
		img, err := api.InspectImage(ictx, ref)
		cancel()
		out[ref] = Lookup{Image: img, Err: err}
	}
	return out
}

// fetch streams one image from the host's save into the inner load, then checks that the
// inner engine holds the host's ID under ref.
func (l *Loader) fetch(ctx context.Context, img *hostImage, s HostStep) {
	log := l.log.With("image", s.Ref)
	l.updateHost(img, func(st *HostImageStatus) { st.State = Loading })
	log.Info("fetching image from the host engine", "reason", s.Reason, "size", s.Size)
	ctx, cancel := context.WithTimeout(ctx, l.opts.LoadTimeout)
	defer cancel()
	err := l.stream(ctx, img, s.Ref)
	if err == nil {
		err = l.verifyHost(ctx, s)
	}
	if err != nil {
		log.Error("failed to fetch image from the host engine", "error", err)
		l.settleHost(img, Failed, err)
		return
	}
	log.Info("image fetched from the host engine", "bytes", img.read.Load(), "duration", time.Since(img.start).Round(time.Millisecond))
	l.settleHost(img, Loaded, nil)
}

func (l *Loader) stream(ctx context.Context, img *hostImage, ref string) error {
	rc, err := l.opts.Host.API.SaveImage(ctx, ref)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := l.api.LoadImage(ctx, countingReader{r: rc, n: &img.read}); err != nil {
		return fmt.Errorf("load image %s from the host engine: %w", ref, err)
	}
	return nil
}

func (l *Loader) verifyHost(ctx context.Context, s HostStep) error {
	got := l.lookups(ctx, l.api, []string{s.Ref})[s.Ref]
	switch {
	case got.Err != nil:
		return fmt.Errorf("verify image %s: %w", s.Ref, got.Err)
	case got.Image == nil:
		return fmt.Errorf("verify image %s: absent after the load", s.Ref)
	case got.Image.ID != s.HostID:
		return fmt.Errorf("verify image %s: %s after the load, the host has %s", s.Ref, shortID(got.Image.ID), shortID(s.HostID))
	}
	return nil
}

// registerHost adds refs to the status, checking, and returns their records.
func (l *Loader) registerHost(refs []string) []*hostImage {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*hostImage
	for _, ref := range refs {
		img := &hostImage{st: HostImageStatus{Ref: ref, State: Checking}}
		l.host, out = append(l.host, img), append(out, img)
	}
	return out
}

// unseen is refs less those a host pass has handled, each once.
func (l *Loader) unseen(refs []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ref := range refs {
		if !slices.Contains(out, ref) && !slices.ContainsFunc(l.host, func(h *hostImage) bool { return h.st.Ref == ref }) {
			out = append(out, ref)
		}
	}
	return out
}

func (l *Loader) updateHost(img *hostImage, f func(*HostImageStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if img.start.IsZero() {
		img.start = time.Now()
	}
	f(&img.st)
}

func (l *Loader) settleHost(img *hostImage, s State, err error) {
	l.updateHost(img, func(st *HostImageStatus) {
		st.State, st.Duration = s, time.Since(img.start).Round(time.Millisecond)
		if err != nil {
			st.Error = err.Error()
		}
	})
}

// hostStatus is the host pass's snapshot; nil without a host. Called with l.mu held.
func (l *Loader) hostStatus() *HostStatus {
	h := l.opts.Host
	if h == nil {
		return nil
	}
	hs := &HostStatus{Socket: h.Socket, Images: []HostImageStatus{}}
	if h.Err != nil {
		hs.Error = h.Err.Error()
	}
	for _, img := range l.host {
		st := img.st
		st.BytesRead = img.read.Load()
		hs.Images = append(hs.Images, st)
	}
	return hs
}

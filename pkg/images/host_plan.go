package images

import (
	"fmt"

	"github.com/wp-dind/wp-dind/pkg/docker"
)

// The host engine's images (the design's "Method 2"): with the host's Docker socket mounted
// in the wp-dind container, the images the declared instances need are streamed from the
// host's `docker save` into the inner engine's load, no tarball written. planHost decides,
// from what each engine answered for each ref, which ones to fetch.

// Lookup is what one engine answered for one ref: the image, nil when absent, or an error.
type Lookup struct {
	Image *docker.Image
	Err   error
}

// HostStep is planHost's decision for one ref.
type HostStep struct {
	Ref    string
	Fetch  bool   // stream it from the host engine
	State  State  // when not fetched: Skipped or Failed
	Reason string // why, in words
	HostID string // the host's image ID, what the inner engine must hold once fetched
	Size   int64  // the host image's size: the expected length of the stream, for progress
}

// planHost decides, for each ref in order, from what the inner engine (inner) and the host
// engine (host) answered: an image present in the inner engine with the host's ID is
// skipped, as is one present there that the host does not have (a tarball brought it); one
// absent or with another ID is fetched; one neither engine has, or that the host cannot be
// asked about while the inner engine lacks it, fails. An inner inspect error counts as
// absent: fetching is the safe choice.
func planHost(refs []string, inner, host map[string]Lookup) []HostStep {
	steps := make([]HostStep, 0, len(refs))
	for _, ref := range refs {
		steps = append(steps, planRef(ref, inner[ref], host[ref]))
	}
	return steps
}

func planRef(ref string, in, h Lookup) HostStep {
	s := HostStep{Ref: ref}
	if h.Image != nil {
		s.HostID, s.Size = h.Image.ID, h.Image.Size
	}
	have := in.Err == nil && in.Image != nil
	switch {
	case h.Err != nil && have:
		s.State, s.Reason = Skipped, fmt.Sprintf("present (%s); the host engine could not be asked: %v", shortID(in.Image.ID), h.Err)
	case h.Err != nil:
		s.State, s.Reason = Failed, fmt.Sprintf("absent, and the host engine could not be asked: %v", h.Err)
	case h.Image == nil && have:
		s.State, s.Reason = Skipped, fmt.Sprintf("present (%s); not on the host engine", shortID(in.Image.ID))
	case h.Image == nil:
		s.State, s.Reason = Failed, "absent, and not on the host engine either"
	case have && in.Image.ID == h.Image.ID:
		s.State, s.Reason = Skipped, "present with the host's ID "+shortID(h.Image.ID)
	case have:
		s.Fetch, s.Reason = true, fmt.Sprintf("%s is %s, the host has %s", ref, shortID(in.Image.ID), shortID(h.Image.ID))
	case in.Err != nil:
		s.Fetch, s.Reason = true, fmt.Sprintf("inspect %s: %v", ref, in.Err)
	default:
		s.Fetch, s.Reason = true, ref+" absent"
	}
	return s
}

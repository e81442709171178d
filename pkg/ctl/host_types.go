package ctl

import "time"

// HostImagesStatus is the images section's host part: the images the instances need, taken
// from the host engine when its socket is mounted (docs/images.md, "From the host engine").
type HostImagesStatus struct {
	Socket string            `json:"socket"`
	Error  string            `json:"error,omitempty"` // no client or no list of images: nothing fetched
	Images []HostImageStatus `json:"images"`
}

// HostImageStatus is one needed image. Its states are the tarballs'.
type HostImageStatus struct {
	Ref       string        `json:"ref"`
	ID        string        `json:"id,omitempty"` // the host's image ID
	Size      int64         `json:"size"`         // the host image's size: about what the stream carries
	State     TarballState  `json:"state"`
	BytesRead int64         `json:"bytes_read"` // streamed into the inner engine so far
	Reason    string        `json:"reason,omitempty"`
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
}

// Percent is how much of the image has been streamed, 0-100 (the stream's length is about
// the image's size, never exactly).
func (h HostImageStatus) Percent() int {
	if h.Size <= 0 {
		return 0
	}
	return int(min(h.BytesRead, h.Size) * 100 / h.Size)
}

package docker

import (
	"context"
	"fmt"
	"io"
)

// ImageSource is what the image loader needs of the host engine (the host's socket mounted
// in the wp-dind container): look an image up, and stream it out as `docker save` does. The
// caller bounds each call with its ctx, as for ImageLoader.
type ImageSource interface {
	// InspectImage returns the image ref names, nil when there is none.
	InspectImage(ctx context.Context, ref string) (*Image, error)
	// SaveImage streams ref as a `docker save` tarball; the caller closes it. A save that
	// fails half-way ends the stream with an error.
	SaveImage(ctx context.Context, ref string) (io.ReadCloser, error)
}

var _ ImageSource = (*Client)(nil)

// SaveImage streams one image as a `docker save` tarball (its tag included, so that a load
// of the stream tags it again).
func (c *Client) SaveImage(ctx context.Context, ref string) (io.ReadCloser, error) {
	rc, err := c.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("save image %s: %w", ref, err)
	}
	return rc, nil
}

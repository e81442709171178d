package docker

import (
	"context"
	"io"

	"github.com/moby/moby/client"
)

// ImageLoad and ImageInspect hand the image loader (pkg/images) the engine's own calls: the
// loader sets its own timeouts, a long one for a load and a short one for an inspect.

// ImageLoad loads a `docker save` tarball.
func (c *Client) ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	return c.api.ImageLoad(ctx, input, opts...)
}

// ImageInspect inspects one image by reference or ID.
func (c *Client) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return c.api.ImageInspect(ctx, ref, opts...)
}

package main

import (
	"fmt"
	"io"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

// writeHostImages is the host part of `ctl status`'s images: a line per needed image.
func writeHostImages(out io.Writer, h *ctl.HostImagesStatus) {
	fmt.Fprintf(out, "host engine images (%s, the host's socket):\n", h.Socket)
	if h.Error != "" {
		fmt.Fprintf(out, "  not used: %s\n", h.Error)
	}
	for _, i := range h.Images {
		switch i.State {
		case ctl.TarballLoading:
			fmt.Fprintf(out, "  %s: fetching %d%% (%d of about %d MiB)\n", i.Ref, i.Percent(), i.BytesRead>>20, i.Size>>20)
		case ctl.TarballFailed:
			fmt.Fprintf(out, "  %s: failed: %s\n", i.Ref, orDefault(i.Error, i.Reason))
		case ctl.TarballLoaded:
			fmt.Fprintf(out, "  %s: fetched, %d MiB in %s (%s)\n", i.Ref, i.BytesRead>>20, i.Duration, i.Reason)
		default:
			fmt.Fprintf(out, "  %s: %s (%s)\n", i.Ref, i.State, i.Reason)
		}
	}
}

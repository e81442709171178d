package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moby/moby/client"
)

// Image is an image as the loader compares it with a tarball's.
type Image struct {
	ID   string // "sha256:..."
	Size int64  // bytes of its layers, as the engine reports them
}

// ImageLoader is what the image loader (pkg/images) needs. The caller bounds each call with
// its ctx (no per-call timeout here): a load of a multi-GB tarball takes minutes, an inspect
// a moment.
type ImageLoader interface {
	// InspectImage returns the image ref (a tag or an ID) names, nil when there is none.
	InspectImage(ctx context.Context, ref string) (*Image, error)
	// LoadImage sends a `docker save` tarball and reads dockerd's answer to its end; it
	// returns the references dockerd reports loaded.
	LoadImage(ctx context.Context, tarball io.Reader) ([]string, error)
}

var _ ImageLoader = (*Client)(nil)

// InspectImage returns the image ref names, nil when there is none.
func (c *Client) InspectImage(ctx context.Context, ref string) (*Image, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Image{ID: res.ID, Size: res.Size}, nil
}

// LoadImage loads a `docker save` tarball. dockerd answers 200 before it reads the tarball,
// so a failed load shows only inside the answer: it comes back as a *LoadError.
func (c *Client) LoadImage(ctx context.Context, tarball io.Reader) ([]string, error) {
	resp, err := c.api.ImageLoad(ctx, tarball, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	return decodeLoadStream(resp)
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

// decodeLoadStream reads the load response to its end and lists the loaded references.
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

package testutil

import (
	"os"
	"strings"
)

// ImagePrefixEnv names the prefix of the instance images under test, as scripts/images.sh
// tags them (WP_DIND_IMAGE_PREFIX, "wp-" by default): a branch that changes an image builds
// its own set beside main's (WP_DIND_IMAGE_PREFIX=wpt42- make images) and tests that set.
const ImagePrefixEnv = "WP_DIND_IMAGE_PREFIX"

// DefaultImagePrefix is the prefix of wpinit.toml's default instances.image_prefix.
const DefaultImagePrefix = "wp-"

// ImagePrefix is the prefix of the images under test.
func ImagePrefix() string {
	if p := os.Getenv(ImagePrefixEnv); p != "" {
		return p
	}
	return DefaultImagePrefix
}

// Image is ref ("wp-php:8.4", named the default way) as the image under test names it.
func Image(ref string) string {
	if rest, ok := strings.CutPrefix(ref, DefaultImagePrefix); ok {
		return ImagePrefix() + rest
	}
	return ref
}

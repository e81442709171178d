package instance

import (
	"fmt"
	"maps"
	"slices"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Images names the images components run as: PREFIX+flavor:version ("wp-php:8.4",
// "wp-mariadb:11.8" with wpinit.toml's default instances.image_prefix "wp-"). scripts/images.sh
// tags the images of images/ so (WP_DIND_IMAGE_PREFIX), and `make save-images` names their
// tarballs PREFIX+flavor.tar. Another prefix lets a second set of images live beside the
// first on one engine (a branch's, or a registry's).
type Images struct {
	Prefix string
}

// NewImages is the naming of wpinit.toml's [instances].
func NewImages(c *config.Instances) Images { return Images{Prefix: c.ImagePrefix} }

// Ref is the image reference c runs as.
func (im Images) Ref(c config.Component) string {
	return im.Prefix + string(c.Flavor) + ":" + c.Version
}

// Source tells a user where c's image comes from, for the error shown when it is missing:
// the make target that builds it, or the tarball to place in /shared-images.
func (im Images) Source(c config.Component) string {
	if c.Offline() {
		return fmt.Sprintf("build it with `make images` (or put /shared-images/%s%s.tar, from `make save-images`, in the shared images folder)", im.Prefix, c.Flavor)
	}
	return fmt.Sprintf("it is not built offline: save the upstream-based image as /shared-images/%s%s-%s.tar (docker save %s -o ...)", im.Prefix, c.Flavor, c.Version, im.Ref(c))
}

// Needed lists the image references the instances of cfg run as, each once, sorted.
func (im Images) Needed(cfg *config.InstancesConfig) []string {
	seen := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, c := range []config.Component{in.DB, in.PHP, in.Web} {
			seen[im.Ref(c)] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

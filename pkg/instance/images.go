package instance

import (
	"fmt"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Image is the image reference a component runs as: "wp-php:8.4", "wp-mariadb:11.8". The
// images of images/ are tagged so, and `make save-images` names their tarballs after it.
func Image(c config.Component) string { return "wp-" + string(c.Flavor) + ":" + c.Version }

// ImageSource tells a user where c's image comes from, for the error shown when it is
// missing: the make target that builds it, or the tarball to place in /shared-images.
func ImageSource(c config.Component) string {
	tarball := fmt.Sprintf("/shared-images/wp-%s-%s.tar", c.Flavor, c.Version)
	if c.Offline() {
		return fmt.Sprintf("build it with `make images` (or put %s in the shared images folder)", tarball)
	}
	return fmt.Sprintf("it is not built offline: save the upstream-based image as %s (docker save %s -o ...)", tarball, Image(c))
}

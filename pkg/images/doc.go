// Package images loads the shared image tarballs (`docker save` output in /shared-images)
// into the inner dockerd at boot, skipping those whose images are already there.
//
// A Loader makes one pass over the directory: every *.tar, *.tar.gz and *.tgz is read for its
// manifest (streaming through the tar, never loading it whole), each of its tags is compared
// with the engine's image (docker.ImageLoader's InspectImage, plain types: this package sees
// no Docker client type), and only a tarball with a tag missing or pointing at another image
// ID is sent with LoadImage. Tarballs are handled in parallel, a bounded number at a time.
//
// Invariants: a tarball never stops the others (a corrupt, truncated or refused one is marked
// failed, with its error, in Status and in the log, and the pass goes on); every Docker call
// has its own timeout (a load its own long one); Done is closed once every tarball is settled,
// whatever happened, so the reconciler can wait on it without risk of waiting forever.
package images

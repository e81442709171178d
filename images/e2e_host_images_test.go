package images_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// The host engine's images (docs/images.md, "From the host engine"): wp-dind with the host's
// Docker socket mounted read-only at /var/run/docker-host.sock streams the images its
// instances need from the host engine. TestHostImages and TestBenchHostImages run only when
// asked (make host-images-test, make bench-host-images).
const envHostImages = "WPDIND_HOST_IMAGES" // 1: run TestHostImages

// hostSocket is the host engine's socket on this machine: DOCKER_HOST's when it is a unix
// one, else the default.
func hostSocket(t *testing.T) string {
	t.Helper()
	sock := "/var/run/docker.sock"
	if h, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		sock = h
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("no Docker socket at %s: %v", sock, err)
	}
	return sock
}

// hostSite is the one instance of these tests: the default stack (PHP 8.4, MariaDB 11.8,
// nginx 1.26).
var hostSite = []site{{Name: "host-1", ID: 1, Port: 8001, Title: "From the host engine"}}

// keepTarballs leaves only the tarballs named in keep in the test's shared folder (links to
// the originals: removing them touches nothing else).
func (d *dind) keepTarballs(keep ...string) {
	d.t.Helper()
	tars, _ := filepath.Glob(filepath.Join(d.shared, "*.tar"))
	for _, p := range tars {
		if !slices.Contains(keep, filepath.Base(p)) {
			if err := os.Remove(p); err != nil {
				d.t.Fatal(err)
			}
		}
	}
}

// bootOne starts d (with extra docker run options) and returns the time from docker run to
// its one site serving 200 from its installed WordPress.
func bootOne(t *testing.T, d *dind, extra ...string) time.Duration {
	dindFlags(t, d.ref) // decided before the clock starts
	start := time.Now()
	d.start(extra...)
	if _, err := d.waitSites(d.sites, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// hostImagesDone: the loader's pass is over, its host part included.
func hostImagesDone(st *ctl.Status) error {
	if err := imagesDone(st); err != nil {
		return err
	}
	if st.Images.Host == nil {
		return errors.New("no host part in the images section: the socket was not used")
	}
	return nil
}

// TestHostImages: with the host's socket mounted read-only and only the nginx tarball in
// /shared-images, the loader loads that tarball, skips nginx:1.26 (present with the host's
// ID), streams PHP 8.4 and MariaDB 11.8 from the host engine and nothing else (no other
// version of PHP or MariaDB reaches the inner engine), each with its bytes counted, and the
// site serves from them. A site on PHP 7.4 declared afterwards gets its image the same way
// (only that one) and serves.
func TestHostImages(t *testing.T) {
	requireEnv(t, envHostImages, "host-images-test")
	prefix := testutil.ImagePrefix()
	later := site{Name: "host-2", ID: 2, Port: 8002, Title: "Declared later", PHP: "7.4"}
	d := newDind(t, append(slices.Clone(hostSite), later)) // both ports published
	d.declare(hostSite)
	d.keepTarballs(prefix + "nginx.tar")
	dindFlags(t, d.ref)
	start := time.Now()
	d.start("-v", hostSocket(t)+":/var/run/docker-host.sock:ro")
	if _, err := d.waitSites(hostSite, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("first boot, host socket and the nginx tarball: one site serves %.1f s after docker run", took.Seconds())
	st, _ := d.waitStatus("images settled", time.Minute, hostImagesDone)

	if tb, ok := tarball(st, prefix+"nginx.tar"); !ok || tb.State != ctl.TarballLoaded {
		t.Errorf("%snginx.tar: %+v, want loaded", prefix, tb)
	}
	want := map[string]ctl.TarballState{prefix + "mariadb:11.8": ctl.TarballLoaded, prefix + "nginx:1.26": ctl.TarballSkipped,
		prefix + "php:8.4": ctl.TarballLoaded}
	checkHostImages(t, d, st.Images.Host, want)
	for _, ref := range []string{prefix + "php:7.4", prefix + "php:8.2", prefix + "mariadb:10.11"} { // no instance needs them yet
		if _, err := docker("exec", d.id, "docker", "image", "inspect", ref); err == nil {
			t.Errorf("%s is in the inner engine: no instance needs it", ref)
		}
	}
	table := mustDocker(t, "exec", d.id, "ctl", "status")
	if !strings.Contains(table, "host engine images (/var/run/docker-host.sock") || !strings.Contains(table, prefix+"php:8.4: fetched") {
		t.Errorf("ctl status does not show the host images:\n%s", table)
	}

	saved := time.Now()
	d.declare(d.sites)
	if _, err := d.waitSites([]site{later}, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("a site on PHP 7.4 declared after boot serves %.1f s after the save", time.Since(saved).Seconds())
	st, _ = d.waitStatus("images settled", time.Minute, hostImagesDone)
	want[prefix+"php:7.4"] = ctl.TarballLoaded
	checkHostImages(t, d, st.Images.Host, want)
	stopDind(t, d.id)
}

// declare writes instances.toml with sites, as an editor saves it (a new file renamed over
// the old: the reconciler watches the folder).
func (d *dind) declare(sites []site) {
	d.t.Helper()
	tmp := filepath.Join(d.conf, ".instances.toml.swp")
	if err := os.WriteFile(tmp, []byte(tomlFor(sites)), 0o644); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.conf, "instances.toml")); err != nil {
		d.t.Fatal(err)
	}
}

// checkHostImages: the host part lists exactly want's refs in their states; a fetched one
// streamed bytes and the inner engine holds it with the host's ID.
func checkHostImages(t *testing.T, d *dind, h *ctl.HostImagesStatus, want map[string]ctl.TarballState) {
	t.Helper()
	if h.Error != "" || len(h.Images) != len(want) {
		t.Fatalf("host images: error %q, %d images, want %d: %+v", h.Error, len(h.Images), len(want), h.Images)
	}
	for _, img := range h.Images {
		if img.State != want[img.Ref] {
			t.Errorf("%s: %s (%s %s), want %s", img.Ref, img.State, img.Reason, img.Error, want[img.Ref])
		}
		hostID := mustDocker(t, "image", "inspect", "-f", "{{.Id}}", img.Ref)
		if img.ID != hostID {
			t.Errorf("%s: status says the host has %s, the host has %s", img.Ref, img.ID, hostID)
		}
		if inner := mustDocker(t, "exec", d.id, "docker", "image", "inspect", "-f", "{{.Id}}", img.Ref); inner != hostID {
			t.Errorf("%s: the inner engine has %s, the host %s", img.Ref, inner, hostID)
		}
		if img.State == ctl.TarballLoaded && (img.BytesRead < img.Size/2 || img.Size <= 0) {
			t.Errorf("%s: streamed %d bytes of an image of %d", img.Ref, img.BytesRead, img.Size)
		}
		t.Logf("%s: %s, %d MiB streamed in %s (%s)", img.Ref, img.State, img.BytesRead>>20, img.Duration, img.Reason)
	}
}

// TestBenchHostImages times the first boot (fresh volume and instances folder, docker run
// until one site serves 200) both ways: from the shared tarballs, and from the host engine
// with an empty /shared-images. make bench-host-images runs it (WPDIND_BENCH=1).
func TestBenchHostImages(t *testing.T) {
	requireEnv(t, envBench, "bench-host-images")
	var tarballs, host time.Duration
	t.Run("tarballs", func(t *testing.T) { tarballs = bootOne(t, newDind(t, hostSite)) })
	t.Run("host socket", func(t *testing.T) {
		d := newDind(t, hostSite)
		d.keepTarballs()
		host = bootOne(t, d, "-v", hostSocket(t)+":/var/run/docker-host.sock:ro")
		st, _ := d.waitStatus("images settled", time.Minute, hostImagesDone)
		t.Logf("image pass %.1f s", st.Images.Duration.Seconds())
	})
	if t.Failed() {
		return
	}
	t.Logf("first boot to one site serving: tarballs %.1f s, host socket %.1f s (ratio %.2f)",
		tarballs.Seconds(), host.Seconds(), tarballs.Seconds()/host.Seconds())
	fmt.Printf("first_boot_tarballs_s=%.1f first_boot_host_s=%.1f\n", tarballs.Seconds(), host.Seconds())
}

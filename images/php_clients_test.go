package images_test

import (
	"strings"
	"testing"
	"time"
)

// TestPHPAllowedClients: with PHP_FPM_ALLOWED_CLIENTS, PHP-FPM answers FastCGI from those
// addresses and from 127.0.0.1 (its health check) and closes the connection of any other
// container on its network without running PHP (docs/images.md, "php"). Two client
// containers on the test's network play the instance's web server and a stranger.
func TestPHPAllowedClients(t *testing.T) {
	for _, im := range byRole(images(t), "php") {
		t.Run(im.Ref, func(t *testing.T) {
			t.Parallel()
			net := newNetwork(t)
			web, stranger := sleeper(t, im.Ref, net), sleeper(t, im.Ref, net)
			webIP := containerIP(t, web)
			id := runContainer(t, im.Ref, "--network", net, "-e", "PHP_FPM_ALLOWED_CLIENTS="+webIP)
			mustHealthy(t, id, 60*time.Second) // the health check's ping comes from 127.0.0.1
			fpm := containerIP(t, id)
			if got := fpmPing(web, fpm); !strings.Contains(got, "pong") {
				t.Errorf("the allowed client %s got %q, want pong", webIP, got)
			}
			if got := fpmPing(stranger, fpm); strings.Contains(got, "pong") {
				t.Errorf("a client not in PHP_FPM_ALLOWED_CLIENTS got %q", got)
			}
		})
	}
}

// fpmPing is the answer to PHP-FPM's ping at addr:9000, asked from the container from.
func fpmPing(from, addr string) string {
	out, _ := execIn(from, "", "env", "SCRIPT_NAME=/fpm-ping", "SCRIPT_FILENAME=/fpm-ping", "REQUEST_METHOD=GET",
		"QUERY_STRING=", "timeout", "5", "cgi-fcgi", "-bind", "-connect", addr+":9000")
	return out
}

// sleeper is a container of ref on net that only sleeps: a FastCGI client (cgi-fcgi).
func sleeper(t *testing.T, ref, net string) string {
	t.Helper()
	id := mustDocker(t, "run", "-d", "--label", labelValue(t), "--network", net, "--no-healthcheck",
		"--entrypoint", "sleep", ref, "infinity")
	t.Cleanup(func() { _, _ = docker("rm", "-f", id) })
	return id
}

// containerIP is the container's address on its one network.
func containerIP(t *testing.T, id string) string {
	t.Helper()
	return mustDocker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id)
}

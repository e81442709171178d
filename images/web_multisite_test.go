package images_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWebMultisite: each web image, with the configuration wpinit generates for a
// subdirectory network (images/testdata/*-multisite.conf, held equal to it by pkg/instance),
// maps a site's /SITE/*.php and /SITE/wp-* to the tree's own files, keeping /SITE/ in
// REQUEST_URI (how WordPress tells the sites apart), and redirects /SITE/wp-admin to
// /SITE/wp-admin/ on the address the client used.
func TestWebMultisite(t *testing.T) {
	all := images(t)
	phps, webs := byRole(all, "php"), byRole(all, "web")
	if len(phps) == 0 {
		t.Skip("no PHP image under test to pair the web images with")
	}
	for _, web := range webs {
		t.Run(web.Ref, func(t *testing.T) {
			t.Parallel()
			testWebMultisite(t, web, phps[len(phps)-1])
		})
	}
}

func testWebMultisite(t *testing.T, web, php image) {
	network, docroot := newNetwork(t), newVolume(t)
	phpID := runContainer(t, php.Ref, "--network", network, "--network-alias", "php", "-v", docroot+":/var/www/html")
	mustHealthy(t, phpID, 60*time.Second)
	if _, err := execIn(phpID, readProbe(t), "sh", "-c", "cat > /var/www/html/probe.php"); err != nil {
		t.Fatal(err)
	}
	config, logs := instanceDirs(t, "wordpress.conf", readFile(t, "testdata/"+web.Flavor+"-multisite.conf"))
	webID := runContainer(t, web.Ref, "--network", network, "-p", "127.0.0.1::80",
		"-v", docroot+":/var/www/html:ro", "-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind")
	mustHealthy(t, webID, 60*time.Second)
	site := "http://" + published(t, webID, "80")

	code, body := httpGet(t, site+"/shop/probe.php")
	var p probe
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil || p.RequestURI != "/shop/probe.php" {
		t.Errorf("GET /shop/probe.php: %d %.200q (%v), REQUEST_URI %q", code, body, err, p.RequestURI)
	}
	if code, body := httpGet(t, site+"/shop/wp-includes/js/jquery/jquery.min.js"); code != 200 || !strings.Contains(body, "jQuery") {
		t.Errorf("GET /shop/wp-includes/js/jquery/jquery.min.js (static, the tree's): %d", code)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, site+"/shop/wp-admin", nil)
	req.Host = "localhost:8007"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusMovedPermanently || (loc != "/shop/wp-admin/" && loc != "http://localhost:8007/shop/wp-admin/") {
		t.Errorf("GET /shop/wp-admin: %d Location %q, want 301 to /shop/wp-admin/ on localhost:8007", resp.StatusCode, loc)
	}
	t.Logf("%s: /shop/probe.php served by PHP %s with REQUEST_URI %s; /shop/wp-admin -> %s", web.Ref, p.Version, p.RequestURI, loc)
}

package images_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestWebServesPHP: each web image serves static files itself and PHP through a PHP
// container over FastCGI, and answers /health on 8081. Web and PHP images are paired in
// order (nginx 1.18 with PHP 7.4, ...), the last PHP image serving the rest, so every PHP
// version also answers FastCGI from another container.
func TestWebServesPHP(t *testing.T) {
	all := images(t)
	phps, webs := byRole(all, "php"), byRole(all, "web")
	if len(phps) == 0 {
		t.Skip("no PHP image under test to pair the web images with")
	}
	for i, web := range webs {
		php := phps[min(i, len(phps)-1)]
		t.Run(web.Ref+"+"+php.Ref, func(t *testing.T) {
			t.Parallel()
			testWeb(t, web, php)
		})
	}
}

// webConf is the instance's wordpress.conf for the web image's flavour.
func webConf(t *testing.T, web image) string {
	t.Helper()
	switch web.Flavor {
	case "nginx":
		return readFile(t, "testdata/nginx-wordpress.conf")
	case "apache":
		return readFile(t, "testdata/apache-wordpress.conf")
	}
	t.Fatalf("%s: unknown web flavor %q", web.Ref, web.Flavor)
	return ""
}

func testWeb(t *testing.T, web, php image) {
	network, docroot := newNetwork(t), newVolume(t)
	phpID := runContainer(t, php.Ref, "--network", network, "--network-alias", "php",
		"-v", docroot+":/var/www/html")
	mustHealthy(t, phpID, 60*time.Second)
	if _, err := execIn(phpID, readProbe(t), "sh", "-c", "cat > /var/www/html/probe.php"); err != nil {
		t.Fatal(err)
	}

	config, logs := instanceDirs(t, "wordpress.conf", webConf(t, web))
	webID := runContainer(t, web.Ref, "--network", network, "-p", "127.0.0.1::80", "-p", "127.0.0.1::8081",
		"-v", docroot+":/var/www/html:ro", "-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind")
	mustHealthy(t, webID, 60*time.Second)
	site := "http://" + published(t, webID, "80")

	code, body := httpGet(t, site+"/probe.php")
	var p probe
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil {
		t.Fatalf("GET /probe.php: %d %q (%v)", code, body, err)
	}
	if p.Version != php.Version || p.SAPI != "fpm-fcgi" {
		t.Errorf("probe through %s: PHP %s %s, want %s fpm-fcgi", web.Ref, p.Version, p.SAPI, php.Version)
	}
	if code, body := httpGet(t, site+"/readme.html"); code != 200 || !strings.Contains(body, "WordPress") {
		t.Errorf("GET /readme.html (static): %d", code)
	}
	if code, body := httpGet(t, "http://"+published(t, webID, "8081")+"/health"); code != 200 {
		t.Errorf("GET :8081/health: %d %q", code, body)
	}
	// The access log is written by the server process: check it got the requests.
	if log := readFile(t, logs+"/access.log"); !strings.Contains(log, "/probe.php") {
		t.Errorf("access.log has no /probe.php line: %q", log)
	}
	checkOwned(t, logs, 33, "access.log", "error.log")
	t.Logf("%s (%s) served PHP %s from %s", web.Ref, web.Version, p.Version, php.Ref)
}

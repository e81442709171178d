package images_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantExtensions are the extensions WordPress recommends plus imagick, redis and Xdebug.
var wantExtensions = []string{"mysqli", "curl", "gd", "intl", "mbstring", "xml", "zip", "exif",
	"Zend OPcache", "imagick", "redis", "xdebug"}

// probe is what testdata/probe.php reports.
type probe struct {
	Version     string   `json:"version"`
	SAPI        string   `json:"sapi"`
	User        string   `json:"user"`
	Extensions  []string `json:"extensions"`
	XdebugMode  string   `json:"xdebug_mode"`
	MemoryLimit string   `json:"memory_limit"`
	ErrorLog    string   `json:"error_log"`
	DBHost      string   `json:"db_host"`
	RequestURI  string   `json:"request_uri"`
}

// instanceDirs makes an instance-like config folder holding file=content and a log folder.
func instanceDirs(t *testing.T, file, content string) (config, logs string) {
	t.Helper()
	config, logs = t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(config, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, logs
}

func readProbe(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/probe.php")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fcgiGet asks PHP-FPM in the container for script over FastCGI (cgi-fcgi, via docker exec).
func fcgiGet(t *testing.T, id, script string) string {
	t.Helper()
	out, err := execIn(id, "", "env", "SCRIPT_FILENAME="+script, "SCRIPT_NAME="+filepath.Base(script),
		"REQUEST_METHOD=GET", "QUERY_STRING=", "cgi-fcgi", "-bind", "-connect", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	// Headers, a blank line, then the body.
	if _, body, ok := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n"); ok {
		return body
	}
	t.Fatalf("no FastCGI body in %q", out)
	return ""
}

func TestPHP(t *testing.T) {
	for _, im := range byRole(images(t), "php") {
		t.Run(im.Ref, func(t *testing.T) {
			t.Parallel()
			testPHP(t, im)
		})
	}
}

func testPHP(t *testing.T, im image) {
	config, logs := instanceDirs(t, "php.ini", "memory_limit = 321M\n")
	id := runContainer(t, im.Ref, "-e", "WORDPRESS_DB_HOST=db.example:3306",
		"-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind")
	took := mustHealthy(t, id, 60*time.Second)
	t.Logf("%s (%s) healthy after %s", im.Ref, im.Version, took.Round(time.Millisecond))

	if _, err := execIn(id, readProbe(t), "sh", "-c", "cat > /tmp/probe.php"); err != nil {
		t.Fatal(err)
	}
	var p probe
	body := fcgiGet(t, id, "/tmp/probe.php")
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("probe answer %q: %v", body, err)
	}
	checkProbe(t, im, p)

	cli, err := execIn(id, "", "php", "-r", "echo ini_get('memory_limit'), ' ', ini_get('xdebug.mode');")
	if err != nil || cli != "321M off" {
		t.Errorf("CLI memory_limit and xdebug.mode = %q, want \"321M off\" (%v)", cli, err)
	}
	checkSeed(t, id)
	checkLogs(t, logs, "fpm.log", "error.log")
}

func checkProbe(t *testing.T, im image, p probe) {
	t.Helper()
	if p.Version != im.Version || !strings.HasPrefix(p.Version, im.Tag+".") {
		t.Errorf("FPM runs PHP %s; %s is labelled %s", p.Version, im.Ref, im.Version)
	}
	if p.SAPI != "fpm-fcgi" || p.User != "www-data" {
		t.Errorf("sapi %q user %q, want fpm-fcgi www-data", p.SAPI, p.User)
	}
	for _, ext := range wantExtensions {
		if !slices.Contains(p.Extensions, ext) {
			t.Errorf("extension %s not loaded (have %v)", ext, p.Extensions)
		}
	}
	if p.XdebugMode != "off" {
		t.Errorf("xdebug.mode = %q, want off", p.XdebugMode)
	}
	if p.MemoryLimit != "321M" {
		t.Errorf("memory_limit = %q: the instance's php.ini is not loaded last", p.MemoryLimit)
	}
	if p.ErrorLog != "/var/log/wp-dind/error.log" || p.DBHost != "db.example:3306" {
		t.Errorf("error_log %q, WORDPRESS_DB_HOST %q", p.ErrorLog, p.DBHost)
	}
	t.Logf("PHP %s, %d extensions, xdebug.mode=%s", p.Version, len(p.Extensions), p.XdebugMode)
}

// checkSeed: the document root holds WordPress 6.8 and a wp-config.php owned by www-data.
func checkSeed(t *testing.T, id string) {
	t.Helper()
	out, err := execIn(id, "", "sh", "-c",
		"grep -o \"wp_version = '[0-9.]*'\" wp-includes/version.php && stat -c %U wp-config.php && "+
			"test -f wp-content/themes/twentytwentyfive/style.css && echo theme && "+
			"grep -c getenv wp-config.php")
	if err != nil {
		t.Fatalf("document root: %v", err)
	}
	f := strings.Fields(out)
	if len(f) < 5 || !strings.HasPrefix(f[2], "'6.8.") || f[3] != "www-data" || f[4] != "theme" {
		t.Errorf("document root: %q, want WordPress 6.8, wp-config.php of www-data, twentytwentyfive", out)
	}
}

// checkLogs: the log folder and the named files exist and belong to uid 33 (www-data).
func checkLogs(t *testing.T, dir string, files ...string) {
	t.Helper()
	checkOwned(t, dir, 33, files...)
}

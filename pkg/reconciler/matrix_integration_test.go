package reconciler

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// versionsMuPlugin is mounted into each site of the matrix from the projects folder (a file
// mount): GET /?wp-dind-versions answers what the site runs on, as the site sees it.
const versionsMuPlugin = `<?php
if (isset($_GET['wp-dind-versions'])) {
    add_action('init', function () {
        global $wpdb;
        header('Content-Type: application/json');
        echo json_encode(['php' => PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION, 'db' => $wpdb->db_server_info()]);
        exit;
    });
}
`

// matrixFile is instances.toml with one matrix of the PHP versions php and MariaDB 10.5 and
// 11.8, its common part a mounted mu-plugin.
func matrixFile(name string, php ...string) string {
	return fmt.Sprintf(`version = 1
[defaults]
admin_email = "it@example.com"

[[matrix]]
name = %q
php = [%s]
db_version = ["10.5", "11.8"]
web_version = "1.26"
mounts = { "wp-content/mu-plugins/wp-dind-versions.php" = "versions.php" }
`, name, `"`+strings.Join(php, `", "`)+`"`)
}

// siteVersions asks a site what it runs on (the mounted mu-plugin).
func siteVersions(port int) (php, db string, err error) {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/?wp-dind-versions=1", port), nil)
	req.Host = fmt.Sprintf("localhost:%d", port)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var v struct{ PHP, DB string }
	if err := json.Unmarshal(body, &v); err != nil {
		return "", "", fmt.Errorf("%d %.200q: %w", resp.StatusCode, body, err)
	}
	return v.PHP, v.DB, nil
}

// TestMatrixIntegration: a matrix of 3 PHP x 2 MariaDB converges into six instances, each
// reporting its own versions through a mu-plugin mounted from the projects folder; removing
// "7.4" from the list removes exactly its two instances, their folders archived, and the
// other four keep their containers.
func TestMatrixIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 6, "wp-php:7.4", "wp-php:8.2", "wp-php:8.4",
		"wp-mariadb:10.5", "wp-mariadb:11.8", "wp-nginx:1.26")
	projects := t.TempDir()
	if err := os.WriteFile(filepath.Join(projects, "versions.php"), []byte(versionsMuPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	matrix := w.name + "-m"
	writeFileAtomic(t, w.file, matrixFile(matrix, "7.4", "8.2", "8.4"))
	opt := w.opt
	opt.Projects, opt.Resync = projects, 20*time.Second
	start := time.Now()
	r := startReconciler(t, w.eng, opt)
	select {
	case <-r.Ready():
	case <-time.After(15 * time.Minute):
		t.Fatal("first pass not done after 15 minutes")
	}
	st := r.Status()
	if len(st.Instances) != 6 {
		t.Fatalf("%d instances, want 6: %+v", len(st.Instances), st.Instances)
	}
	t.Logf("6 instances converged in %s", time.Since(start).Round(time.Second))
	ids := map[string]string{}
	for _, in := range st.Instances {
		if in.State != StateRunning || in.Matrix != matrix {
			t.Fatalf("%s: %s, matrix %q (%s)", in.Name, in.State, in.Matrix, in.LastError)
		}
		d, err := r.Detail(in.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		php, db, err := siteVersions(d.Port)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		want := config.MatrixInstanceName(matrix, config.Component{Flavor: config.FlavorPHP, Version: php},
			config.Component{Flavor: config.FlavorMariaDB, Version: majorMinor(db)}, config.Component{Flavor: config.FlavorNginx})
		if want != in.Name {
			t.Errorf("%s reports PHP %s, MariaDB %s (that is %s)", in.Name, php, db, want)
		}
		t.Logf("%s answers PHP %s, MariaDB %s", in.Name, php, db)
		for _, role := range instance.Roles {
			ids[instance.ContainerName(in.Name, role)] = containerID(instance.ContainerName(in.Name, role))
		}
	}

	writeFileAtomic(t, w.file, matrixFile(matrix, "8.2", "8.4"))
	removed := []string{matrix + "-php74-mariadb105-nginx", matrix + "-php74-mariadb118-nginx"}
	testutil.WaitFor(t, 5*time.Minute, "the two 7.4 instances removed and archived", func() bool {
		for _, n := range removed {
			if a, _ := instance.ListArchived(w.root, n); len(a) != 1 || containerID(n+"-db") != "" {
				return false
			}
		}
		return len(r.Status().Instances) == 4
	})
	passAfter(t, r, 2*time.Minute)
	for name, id := range ids {
		gone := slices.ContainsFunc(removed, func(n string) bool { return strings.HasPrefix(name, n+"-") })
		now := containerID(name)
		switch {
		case gone && now != "":
			t.Errorf("%s still exists", name)
		case !gone && now != id:
			t.Errorf("%s changed: %.12s -> %.12s", name, id, now)
		}
	}
	for _, n := range removed {
		a, _ := instance.ListArchived(w.root, n)
		if _, err := os.Stat(filepath.Join(a[0].Path, "data", "mysql")); err != nil {
			t.Errorf("archive of %s has no data: %v", n, err)
		}
	}
	t.Logf("removing 7.4 removed %v (archived); the other 4 instances kept their 12 containers", removed)
}

// majorMinor is "10.11" of a server version such as "10.11.14-MariaDB-deb12"; older
// clients (PHP 7.4's) see MariaDB 10 behind the "5.5.5-" it puts first for MySQL clients.
func majorMinor(v string) string {
	v = strings.TrimPrefix(v, "5.5.5-")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

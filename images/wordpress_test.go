package images_test

import (
	"strings"
	"testing"
	"time"
)

// TestWordPressInstall: the newest database, PHP and nginx images together make a site:
// wp-dind-install installs WordPress from the PHP container's environment, a second run is
// a no-op, a localhost site's mail sender is valid, and the front page shows the title
// through nginx.
func TestWordPressInstall(t *testing.T) {
	all := images(t)
	db, php, web := newest(byRole(all, "db")), newest(byRole(all, "php")), newest(byRole(all, "web"))
	if db == nil || php == nil || web == nil {
		t.Skip("needs a db, a php and a web image under test")
	}
	network, docroot := newNetwork(t), newVolume(t)
	dbID := runContainer(t, db.Ref, append(dbEnv(), "--network", network, "--network-alias", "db")...)
	phpID := runContainer(t, php.Ref, "--network", network, "--network-alias", "php",
		"-v", docroot+":/var/www/html", "-e", "WORDPRESS_DB_HOST=db:3306", "-e", "WORDPRESS_DB_NAME="+appDatabase,
		"-e", "WORDPRESS_DB_USER="+appUser, "-e", "WORDPRESS_DB_PASSWORD="+appPassword,
		"-e", "WORDPRESS_BLOCK_EXTERNAL_HTTP=1", "-e", "SMTP_HOST=127.0.0.1")
	config, logs := instanceDirs(t, "wordpress.conf", webConf(t, *web))
	webID := runContainer(t, web.Ref, "--network", network, "-p", "127.0.0.1::80",
		"-v", docroot+":/var/www/html:ro", "-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind")
	for _, id := range []string{dbID, phpID, webID} {
		mustHealthy(t, id, 120*time.Second)
	}
	site := "http://" + published(t, webID, "80")

	// The first run takes the password on stdin (what wpinit does), the second as the old
	// --admin-password, which must keep working.
	const password = `s3cret'"pass`
	install := []string{"wp-dind-install", "--url", site, "--title", "Contract Site", "--admin-user", "admin",
		"--admin-email", "admin@example.test"}
	runs := []struct {
		stdin, want string
		args        []string
	}{
		{password + "\n", "installed", []string{"--admin-password-stdin"}},
		{"", "already installed", []string{"--admin-password", password}},
	}
	for i, r := range runs {
		out, err := execAs(phpID, "www-data", r.stdin, append(install, r.args...)...)
		if err != nil || !strings.Contains(out, r.want) {
			t.Fatalf("install run %d: %q, want %q (%v)", i+1, out, r.want, err)
		}
	}
	// The login form hands WordPress the password slashed ($_POST is), as the installer stores it.
	ok, err := execAs(phpID, "www-data", "", "php", "-r",
		`require "wp-load.php"; echo wp_check_password(wp_slash($argv[1]), get_user_by("login", "admin")->user_pass) ? "yes" : "no";`, password)
	if err != nil || ok != "yes" {
		t.Errorf("the password given on stdin is the admin's: %q (%v)", ok, err)
	}
	// WordPress's default sender on a localhost site, wordpress@localhost, fails its own
	// is_email(): the image's must-use plugin replaces it, so wp_mail() reaches msmtp.
	from, err := execAs(phpID, "www-data", "", "php", "-r",
		`require "wp-load.php"; echo apply_filters("wp_mail_from", "wordpress@localhost");`)
	if err != nil || from != "wordpress@localhost.localdomain" {
		t.Errorf("mail sender of a localhost site: %q (%v), want wordpress@localhost.localdomain", from, err)
	}
	code, body := httpGet(t, site+"/")
	if code != 200 || !strings.Contains(body, "Contract Site") {
		t.Fatalf("GET /: %d, title missing in %.300q", code, body)
	}
	t.Logf("WordPress on %s + %s + %s answers at %s", db.Ref, php.Ref, web.Ref, site)
}

// newest is the image with the highest version, nil for none.
func newest(list []image) *image {
	var best *image
	for i := range list {
		if best == nil || versionLess(best.Version, list[i].Version) {
			best = &list[i]
		}
	}
	return best
}

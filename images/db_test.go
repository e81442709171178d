package images_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Credentials of the test databases; quotes and a backslash prove they are passed as data.
const (
	rootPassword = `r00t'pa"ss\word`
	appUser      = "wpuser"
	appPassword  = `app'pa"ss\word`
	appDatabase  = "wp_test"
)

func TestDatabase(t *testing.T) {
	for _, im := range byRole(images(t), "db") {
		t.Run(im.Ref, func(t *testing.T) {
			t.Parallel()
			testDatabase(t, im)
		})
	}
}

// dbEnv is the docker run environment of a database with the test credentials.
func dbEnv() []string {
	return []string{"-e", "MARIADB_ROOT_PASSWORD=" + rootPassword, "-e", "MARIADB_DATABASE=" + appDatabase,
		"-e", "MARIADB_USER=" + appUser, "-e", "MARIADB_PASSWORD=" + appPassword,
		"-e", "MYSQL_ROOT_PASSWORD=" + rootPassword, "-e", "MYSQL_DATABASE=" + appDatabase,
		"-e", "MYSQL_USER=" + appUser, "-e", "MYSQL_PASSWORD=" + appPassword}
}

func testDatabase(t *testing.T, im image) {
	config, logs := instanceDirs(t, "my.cnf", readFile(t, "testdata/my.cnf"))
	data := t.TempDir()
	opts := append(dbEnv(), "-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind",
		"-v", data+":/var/lib/mysql")
	id := runContainer(t, im.Ref, opts...)
	took := mustHealthy(t, id, 120*time.Second)
	t.Logf("%s (%s): empty data dir to healthy in %s", im.Ref, im.Version, took.Round(time.Millisecond))

	got := query(t, id, appUser, appPassword, "SELECT CURRENT_USER(), DATABASE(), @@max_connections, VERSION()")
	f := strings.Split(got, "\t")
	if len(f) != 4 || f[0] != appUser+"@%" || f[1] != appDatabase || f[2] != "123" ||
		!strings.HasPrefix(f[3], im.Version) {
		t.Errorf("as %s: %q, want %s@%%, %s, max_connections 123 (my.cnf), version %s",
			appUser, got, appUser, appDatabase, im.Version)
	}
	if got := query(t, id, appUser, appPassword, "CREATE TABLE t (i INT); INSERT INTO t VALUES (7); SELECT i FROM t"); got != "7" {
		t.Errorf("app user writes: %q", got)
	}
	if got := query(t, id, "root", rootPassword, "SELECT COUNT(*) FROM mysql.user WHERE user = ''"); got != "0" {
		t.Errorf("anonymous users: %q", got)
	}
	if out, err := execIn(id, "", "sh", "-c", "id -u mysql; stat -c %u /proc/1"); err != nil ||
		strings.Fields(out)[0] != "999" || strings.Fields(out)[1] != "999" {
		t.Errorf("mysql uid and server uid: %q, want 999 999 (%v)", out, err)
	}
	checkOwned(t, logs, 999, "error.log")
	checkOwned(t, data, 999)
	testRestart(t, im, id)
}

// TestDatabaseInterruptedInit: a data folder whose first initialisation was cut short (the
// container killed while it unpacked: the marker is left with part of the files) is wiped and
// initialised again at the next start, instead of failing on it for good.
func TestDatabaseInterruptedInit(t *testing.T) {
	for _, im := range byRole(images(t), "db") {
		if im.Flavor != "mariadb" {
			continue
		}
		t.Run(im.Ref, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			for _, f := range []string{".wp-dind-initialising", "ibdata1", "aria_log_control"} {
				if err := os.WriteFile(filepath.Join(data, f), []byte("half"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			config, logs := instanceDirs(t, "my.cnf", readFile(t, "testdata/my.cnf"))
			id := runContainer(t, im.Ref, append(dbEnv(), "-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind",
				"-v", data+":/var/lib/mysql")...)
			mustHealthy(t, id, 120*time.Second)
			if got := query(t, id, appUser, appPassword, "SELECT DATABASE()"); got != appDatabase {
				t.Errorf("after the interrupted initialisation: %q, want %s", got, appDatabase)
			}
			if _, err := os.Stat(filepath.Join(data, ".wp-dind-initialising")); !os.IsNotExist(err) {
				t.Errorf("the marker is still there: %v", err)
			}
		})
	}
}

// TestDatabaseStopDuringInit: a stop while an empty data folder is being initialised (a new
// site's convergence cut short, by a restore or ctl down) takes seconds, not the 30 s grace
// period and a kill: the entrypoint, PID 1, passes it on to the init server. The folder keeps
// its marker, and the next start initialises it again.
func TestDatabaseStopDuringInit(t *testing.T) {
	for _, im := range byRole(images(t), "db") {
		t.Run(im.Ref, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			config, logs := instanceDirs(t, "my.cnf", readFile(t, "testdata/my.cnf"))
			id := runContainer(t, im.Ref, append(dbEnv(), "-v", config+":/etc/wp-dind:ro", "-v", logs+":/var/log/wp-dind",
				"-v", data+":/var/lib/mysql")...)
			mark := filepath.Join(data, ".wp-dind-initialising")
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(mark); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no initialisation seen in 30 s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			mustDocker(t, "stop", "-t", "30", id)
			took := time.Since(start)
			t.Logf("%s: stopped %s after the initialisation began", im.Ref, took.Round(time.Millisecond))
			if took > 10*time.Second {
				t.Errorf("docker stop during the initialisation took %s, want well under the 30 s grace period", took)
			} else if _, err := os.Stat(mark); err != nil {
				t.Fatalf("the initialisation was over before the stop, which this test is not about: %v", err)
			}
			if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", id); code != "143" {
				t.Errorf("exit code %s, want 143 (stopped by SIGTERM)", code)
			}
			if out := mustDockerCombined(t, "logs", id); !strings.Contains(out, "stopped during the initialisation") {
				t.Errorf("the log does not say the initialisation was stopped:\n%s", out)
			}
			mustDocker(t, "start", id)
			mustHealthy(t, id, 120*time.Second)
			if got := query(t, id, appUser, appPassword, "SELECT DATABASE()"); got != appDatabase {
				t.Errorf("after a start on the interrupted folder: %q, want %s", got, appDatabase)
			}
		})
	}
}

// testRestart: a clean stop (the image's stop signal) and a start on the same, now
// non-empty, data directory keep the data and the credentials.
func testRestart(t *testing.T, im image, id string) {
	t.Helper()
	mustDocker(t, "stop", "-t", "30", id)
	if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", id); code != "0" {
		t.Errorf("%s exited %s on stop", im.Ref, code)
	}
	mustDocker(t, "start", id)
	took := mustHealthy(t, id, 60*time.Second)
	t.Logf("%s: restart on its data dir to healthy in %s", im.Ref, took.Round(time.Millisecond))
	if got := query(t, id, appUser, appPassword, "SELECT i FROM t"); got != "7" {
		t.Errorf("after restart: %q, want 7", got)
	}
}

// query runs SQL in the database container over TCP on 127.0.0.1 as user.
func query(t *testing.T, id, user, password, sql string) string {
	t.Helper()
	out, err := execIn(id, sql, "sh", "-c",
		`client=$(command -v mariadb || command -v mysql); MYSQL_PWD="$1" exec "$client" --protocol=tcp -h127.0.0.1 -P3306 -u"$2" -N -B "$3"`,
		"query", password, user, appDatabase)
	if err != nil {
		t.Fatalf("query as %s: %v", user, err)
	}
	return strings.TrimSpace(out)
}

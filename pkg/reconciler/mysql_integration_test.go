package reconciler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMySQLIntegration (issue 14): Oracle's MySQL 9.7 (wp-mysql, from Debian unstable) runs
// WordPress with PHP 7.4, 8.2 and 8.4 (each PHP's mysqli logs in with MySQL 9's only password
// plugin, caching_sha2_password, over the instance network without TLS), and an instance on
// it passes a backup and its restore and a snapshot (a cold copy: there is no mariadb-backup
// for MySQL) and its restore.
func TestMySQLIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 3, "wp-php:7.4", "wp-php:8.2", "wp-php:8.4", "wp-mysql:9.7", "wp-nginx:1.26")
	var file strings.Builder
	file.WriteString(itFile())
	names := map[string]int{}
	for i, php := range []string{"7.4", "8.2", "8.4"} {
		name := w.instance("my" + strings.ReplaceAll(php, ".", ""))
		names[name] = w.ports[i]
		fmt.Fprintf(&file, "[[instance]]\nname = %q\nid = %d\nport = %d\nphp = %q\ndb = \"mysql\"\ndb_version = \"9.7\"\nweb_version = \"1.26\"\n",
			name, 251+i, w.ports[i], php)
	}
	writeFileAtomic(t, w.file, file.String())
	r := startReconciler(t, w.eng, w.opt)
	for name, port := range names {
		waitRunning(t, r, name)
		if err := serves(t, port); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if got := wpPHP(t, name, `global $wpdb; echo $wpdb->db_server_info();`); !strings.HasPrefix(got, "9.7.") {
			t.Errorf("%s: server %q, want MySQL 9.7", name, got)
		}
	}
	in := w.instance("my84")
	ctx := context.Background()
	post := wpPHP(t, in, `echo wp_insert_post(["post_title"=>"on mysql","post_status"=>"publish"]);`)
	title := func() string {
		return dockerOut(t, "exec", in+"-db", "sh", "-c", `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -uroot -N -s wordpress -e "$1"`, "sh",
			"SELECT post_title FROM wp_posts WHERE ID = "+post)
	}
	t.Run("backup and restore", func(t *testing.T) {
		res, err := r.Backup(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		wpPHP(t, in, `wp_delete_post(`+post+`, true);`)
		began := time.Now()
		if _, err := r.Restore(ctx, in, res.Path); err != nil {
			t.Fatal(err)
		}
		t.Logf("backup %d bytes, restore in %s", res.Bytes, time.Since(began).Round(time.Millisecond))
		if got := title(); got != "on mysql" {
			t.Errorf("post after the restore: %q", got)
		}
	})
	t.Run("snapshot and its restore", func(t *testing.T) {
		snap, err := r.Snapshot(ctx, in, "my1")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("snapshot: %s in %s", snap.Snapshot.Method, snap.Duration.Round(time.Millisecond))
		if snap.Snapshot.Method != "cold-copy" {
			t.Errorf("method %q, want cold-copy", snap.Snapshot.Method)
		}
		wpPHP(t, in, `wp_delete_post(`+post+`, true);`)
		res, err := r.SnapshotRestore(ctx, in, "my1")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("snapshot restore in %s", res.Duration.Round(time.Millisecond))
		if got := title(); got != "on mysql" {
			t.Errorf("post after the snapshot restore: %q", got)
		}
		if err := serves(t, names[in]); err != nil {
			t.Error(err)
		}
	})
}

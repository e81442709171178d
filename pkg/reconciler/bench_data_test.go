package reconciler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestBenchData (make bench-data) times the data commands on a site whose database holds
// about 1 GB (generated posts and postmeta, made by the server itself from its sequence
// engine): a snapshot, its restore, a logical backup (ctl backup) and its restore, an
// import of a plain dump (ctl db import), a clone (from = SRC). It ends with one line.
func TestBenchData(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_BENCH", 2, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	w.opt.Timeouts.Restore, w.opt.Timeouts.Backup = time.Hour, time.Hour
	src := itInstance{name: w.instance("big"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 231, port: w.ports[0]}
	// The source keeps its my_cnf when the clone is declared: a change would recreate its
	// database container as the clone asks it for a snapshot.
	srcTOML := itFile(src) + `my_cnf = { innodb_buffer_pool_size = "256M" }` + "\n"
	writeFileAtomic(t, w.file, srcTOML)
	r := startReconciler(t, w.eng, w.opt)
	waitRunning(t, r, src.name)
	ctx := context.Background()

	gen := time.Now()
	bytes := fillDatabase(t, src, 1<<30)
	t.Logf("database filled: %.2f GiB of tables in %s", float64(bytes)/(1<<30), time.Since(gen).Round(time.Second))
	marker := wpPHP(t, src.name, `echo wp_insert_post(["post_title"=>"bench marker","post_status"=>"publish"]);`)
	check := func(what string) {
		t.Helper()
		if got := postTitleSQL(t, src.name, marker); got != "bench marker" {
			t.Fatalf("after %s: marker post %q", what, got)
		}
		if err := siteOK(src.port); err != nil {
			t.Fatalf("after %s: %v", what, err)
		}
	}
	timed := func(what string, fn func() error) float64 {
		t.Helper()
		start := time.Now()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		d := time.Since(start).Seconds()
		t.Logf("%s: %.1f s", what, d)
		return d
	}
	snap := timed("snapshot", func() error { _, err := r.Snapshot(ctx, src.name, "bench"); return err })
	snapRestore := timed("snapshot restore", func() error { _, err := r.SnapshotRestore(ctx, src.name, "bench"); return err })
	check("the snapshot restore")
	var archive string
	logical := timed("logical backup", func() error {
		res, err := r.Backup(ctx, src.name)
		if res != nil {
			archive = res.Path
		}
		return err
	})
	logicalRestore := timed("logical restore", func() error { _, err := r.Restore(ctx, src.name, archive); return err })
	check("the logical restore")
	dump := filepath.Join(w.dir, "dump.sql")
	f, err := os.Create(dump)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.DBExport(ctx, src.name, f); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	imp := timed("import", func() error {
		f, err := os.Open(dump)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = r.DBImport(ctx, src.name, f, "")
		return err
	})
	check("the import")
	_ = os.Remove(dump)
	clone := itInstance{name: w.instance("copy"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 232, port: w.ports[1]}
	cl := timed("clone", func() error {
		writeFileAtomic(t, w.file, srcTOML+clone.toml()+"from = \""+src.name+"\"\n")
		r.Trigger("bench: clone")
		testutil.WaitFor(t, 10*time.Minute, clone.name+" running", func() bool { return r.instanceState(clone.name).State == StateRunning })
		return siteOK(clone.port)
	})
	if got := postTitleSQL(t, clone.name, marker); got != "bench marker" {
		t.Errorf("the clone lacks the marker post: %q", got)
	}
	// The time counts the URL rewrite: every post links to the clone now, none to its source.
	srcHost, cloneHost := "localhost:"+strconv.Itoa(src.port), "localhost:"+strconv.Itoa(clone.port)
	links := wpPHP(t, clone.name, `global $wpdb; echo json_encode([get_option("home"),
  (int) $wpdb->get_var("SELECT COUNT(*) FROM $wpdb->posts WHERE post_content LIKE '%`+srcHost+`%'"),
  (int) $wpdb->get_var("SELECT COUNT(*) FROM $wpdb->posts WHERE post_content LIKE '%`+cloneHost+`%'")]);`)
	if want := fmt.Sprintf(`["http:\/\/%s",0,`, cloneHost); !strings.HasPrefix(links, want) || strings.HasSuffix(links, ",0]") {
		t.Fatalf("the clone's home and posts linking to the source, to the clone: %s (want %s...N])", links, want)
	}
	t.Logf("the clone's home, its posts linking to the source and to itself: %s", links)
	t.Logf("snapshot restore is %.1fx faster than the logical restore; on disk: snapshot %d MiB",
		logicalRestore/snapRestore, instance.DiskUsage(instance.Snapshot{Layout: instance.Layout{Root: w.root, Name: src.name}, Label: "bench"}.DBDir())>>20)
	fmt.Printf("snapshot_1g_s=%.1f snapshot_restore_1g_s=%.1f logical_backup_1g_s=%.1f logical_restore_1g_s=%.1f import_1g_s=%.1f clone_1g_s=%.1f\n",
		snap, snapRestore, logical, logicalRestore, imp, cl)
}

// fillDatabase generates posts and postmeta in the instance's database until its tables
// hold about size bytes (data and indexes), server-side: INSERT ... SELECT from MariaDB's
// sequence engine, in batches. It returns the size reached.
func fillDatabase(t *testing.T, in itInstance, size int64) int64 {
	t.Helper()
	url := "http://localhost:" + strconv.Itoa(in.port)
	const batch = 20000
	for first := 1; ; first += batch {
		if got := tablesBytes(t, in.name); got >= size {
			return got
		}
		last := first + batch - 1
		sql := fmt.Sprintf(`SET @before = (SELECT COALESCE(MAX(ID), 0) FROM wp_posts);
INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt,
  post_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type)
SELECT 1, NOW(), NOW(), REPEAT(CONCAT('<p>Generated post ', seq, ' links to <a href="%[1]s/?p=', seq, '">itself</a>. ', MD5(seq), '</p>'), 12),
  CONCAT('Generated post ', seq), '', 'publish', CONCAT('generated-', seq), '', '', NOW(), NOW(), '', CONCAT('%[1]s/?p=', seq), 'post'
FROM seq_%[2]d_to_%[3]d;
INSERT INTO wp_postmeta (post_id, meta_key, meta_value)
SELECT p.ID, CONCAT('_bench_', k.seq), REPEAT(CONCAT(MD5(p.ID * 7 + k.seq), SHA2(k.seq, 256)), 4)
FROM wp_posts p JOIN seq_1_to_8 k WHERE p.ID > @before;`, url, first, last)
		out := dockerOut(t, "exec", in.name+"-db", "sh", "-c", `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot wordpress -e "$1" && echo ok`, "sh", sql)
		if !strings.HasSuffix(out, "ok") {
			t.Fatalf("generate rows %d-%d: %s", first, last, out)
		}
	}
}

// tablesBytes is the size of the instance's tables, data and indexes.
func tablesBytes(t *testing.T, name string) int64 {
	t.Helper()
	// InnoDB's statistics lag behind the inserts: analyze first, so that the fill stops near
	// its size rather than a batch or two past it.
	q := "ANALYZE TABLE wp_posts, wp_postmeta; SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = 'wordpress'"
	out := dockerOut(t, "exec", name+"-db", "sh", "-c", `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -s wordpress -e "$1" | tail -n 1`, "sh", q)
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("size of the tables: %q", out)
	}
	return n
}

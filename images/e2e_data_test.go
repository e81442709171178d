package images_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dataSites are a MariaDB site and a MySQL 9.7 one.
var dataSites = []site{
	{Name: "blog", ID: 1, Port: 8001, Title: "Blog on MariaDB", PHP: "8.4", DB: "11.8", WebVersion: "1.26"},
	{Name: "sql", ID: 2, Port: 8002, Title: "Site on MySQL", PHP: "8.4", DBFlavor: "mysql", DB: "9.7", WebVersion: "1.26"},
}

// TestDataEndToEnd (issue 14) runs the data commands on the real product, through `docker
// exec` as a user does: a dump with https://example.com in it (serialized, nested and JSON
// options), streamed in with `docker exec -i wpinit ctl db import blog - --replace-url ...`
// from a gzip file, serves with the local URL; a site on MySQL 9.7 serves, logs into
// phpMyAdmin, and passes ctl backup and restore, ctl snapshot and snapshot restore, its status
// counting the snapshot. make data-test runs it (WPDIND_DATA_E2E=1).
func TestDataEndToEnd(t *testing.T) {
	requireEnv(t, "WPDIND_DATA_E2E", "data-test")
	d := newDind(t, dataSites)
	d.start()
	d.waitStatus("both sites up", 10*time.Minute, all(servicesReady, instancesUp(len(dataSites))))
	blog, sql := dataSites[0], dataSites[1]

	t.Run("db import from standard input with --replace-url", func(t *testing.T) {
		if _, err := d.php(blog, `update_option("siteurl", "https://example.com"); update_option("home", "https://example.com");
			update_option("wpd_ser", ["url" => "https://example.com/shop", "inner" => serialize(["deep" => "https://example.com/deep"])]);
			update_option("wpd_json", json_encode(["link" => "https://example.com/j"]));`); err != nil {
			t.Fatal(err)
		}
		dump := mustDocker(t, "exec", d.id, "ctl", "db", "export", blog.Name)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(dump + "\n"))
		_ = zw.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", "exec", "-i", d.id, "ctl", "db", "import", blog.Name, "-", "--replace-url", "https://example.com")
		cmd.Stdin = &gz
		out, err := cmd.CombinedOutput()
		t.Logf("docker exec -i wpinit ctl db import blog - --replace-url https://example.com < prod.sql.gz (%d bytes):\n%s", gz.Cap(), out)
		if err != nil || !strings.Contains(string(out), "(gzip)") {
			t.Fatalf("import: %v", err)
		}
		if err := d.siteServes(blog); err != nil {
			t.Errorf("blog after the import: %v", err)
		}
		got, err := d.php(blog, `$s = get_option("wpd_ser"); echo json_encode([get_option("home"), $s["url"], unserialize($s["inner"], ["allowed_classes" => false])["deep"], json_decode(get_option("wpd_json"))->link], JSON_UNESCAPED_SLASHES);`)
		local := fmt.Sprintf("http://localhost:%d", blog.Port)
		if want := fmt.Sprintf(`["%[1]s","%[1]s/shop","%[1]s/deep","%[1]s/j"]`, local); err != nil || got != want {
			t.Errorf("values after the import:\n got %s (%v)\nwant %s", got, err, want)
		}
	})

	t.Run("MySQL 9.7: phpMyAdmin, backup and restore, snapshot and its restore", func(t *testing.T) {
		if err := d.siteServes(sql); err != nil {
			t.Fatalf("site on MySQL: %v", err)
		}
		var detail struct {
			Secrets struct {
				DBRootPassword string `json:"db_root_password"`
			} `json:"secrets"`
		}
		if err := json.Unmarshal([]byte(mustDocker(t, "exec", d.id, "ctl", "status", sql.Name, "--show-secrets", "--json")), &detail); err != nil {
			t.Fatal(err)
		}
		page, err := d.pmaLogin(sql.Name, "root", detail.Secrets.DBRootPassword)
		if err != nil || !strings.Contains(page, "wordpress") {
			t.Errorf("phpMyAdmin login to MySQL 9.7: %v", err)
		}
		const title = "Kept on MySQL"
		id, err := d.newPost(sql, title)
		if err != nil {
			t.Fatal(err)
		}
		archive := strings.Fields(mustDocker(t, "exec", d.id, "ctl", "backup", sql.Name))[0]
		back := func(what string, restore ...string) {
			t.Helper()
			if err := d.deletePost(sql, id); err != nil {
				t.Fatal(err)
			}
			out := mustDocker(t, append([]string{"exec", d.id, "ctl"}, restore...)...)
			t.Logf("%s: %s", what, out)
			if ok, err := d.postShown(sql, id, title); !ok {
				t.Errorf("post not back after %s (%v)", what, err)
			}
		}
		back("ctl restore", "restore", sql.Name, archive)
		t.Logf("ctl snapshot: %s", mustDocker(t, "exec", d.id, "ctl", "snapshot", sql.Name, "before"))
		back("ctl snapshot restore", "snapshot", "restore", sql.Name, "before")
		list := mustDocker(t, "exec", d.id, "ctl", "snapshot", "list", sql.Name)
		status := mustDocker(t, "exec", d.id, "ctl", "status", sql.Name)
		t.Logf("ctl snapshot list:\n%s\nctl status %s:\n%s", list, sql.Name, status)
		if !strings.Contains(list, "cold-copy") || !strings.Contains(status, "snapshots") {
			t.Error("the snapshot is not listed, or the status does not count it")
		}
	})
}

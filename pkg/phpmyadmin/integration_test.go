package phpmyadmin

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// TestPhpMyAdminIntegration serves the real phpMyAdmin of the wp-dind image (Debian's
// package and config.inc.php, with the image's own conf.d/wp-dind.php) with the written
// fragment mounted at its place, and reads the server choice of its login page through
// 127.0.0.1. Gated by WPDIND_INTEGRATION=1 (make instances-test).
func TestPhpMyAdminIntegration(t *testing.T) {
	if os.Getenv("WPDIND_INTEGRATION") != "1" {
		t.Skip("real-engine test: run with WPDIND_INTEGRATION=1 (make instances-test)")
	}
	const image = "wp-dind:latest"
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Fatalf("image %s not loaded (make images)", image)
	}
	w := &Writer{Path: filepath.Join(t.TempDir(), "wp-dind-instances.php")}
	if _, err := w.Write(Servers(testInstances(t), net)); err != nil {
		t.Fatal(err)
	}
	label := "org.wp-dind.test=" + testutil.Name(t, "pma")
	out, err := exec.Command("docker", "run", "-d", "--label", label, "-p", "127.0.0.1::8080",
		"-v", w.Path+":"+DefaultPath+":ro", "--entrypoint", "php", image,
		"-S", "0.0.0.0:8080", "-t", "/usr/share/phpmyadmin").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", "-v", id).Run() }) // -v: wp-dind declares VOLUMEs
	addr, err := exec.Command("docker", "port", id, "8080/tcp").Output()
	if err != nil {
		t.Fatalf("docker port: %v", err)
	}
	url := "http://" + strings.TrimSpace(strings.Split(string(addr), "\n")[0]) + "/index.php"
	page := fetchLogin(t, url)
	opts := regexp.MustCompile(`<option\s+value="(\d+)"\s*>([^<]+)</option>`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, o := range opts {
		got = append(got, o[1]+"="+o[2])
	}
	if strings.Join(got, " ") != "2=blog 3=shop" {
		t.Errorf("server choice = %v, want [2=blog 3=shop]", got)
	}
	if !strings.Contains(page, `name="pma_servername"`) {
		t.Error("the image's free-address login (slot 1) is gone")
	}
}

// fetchLogin polls the login page until phpMyAdmin answers it.
func fetchLogin(t *testing.T, url string) string {
	t.Helper()
	var page string
	var last error
	err := testutil.Poll(30*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page, last = string(body), fmt.Errorf("status %d", resp.StatusCode)
		return resp.StatusCode == http.StatusOK && strings.Contains(page, "login_form")
	})
	if err != nil {
		t.Fatalf("phpMyAdmin login page: %v (last answer: %v)", err, last)
	}
	return page
}

package reconciler

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// itInstance is one instance of the integration file.
type itInstance struct {
	name, php, dbVersion, web string
	webFlavor                 string // "" for the default, nginx
	id, port                  int
}

func (i itInstance) toml() string {
	s := fmt.Sprintf("[[instance]]\nname = %q\nid = %d\nport = %d\nphp = %q\ndb_version = %q\nweb_version = %q\n",
		i.name, i.id, i.port, i.php, i.dbVersion, i.web)
	if i.webFlavor != "" {
		s += fmt.Sprintf("web = %q\n", i.webFlavor)
	}
	return s
}

func itFile(ins ...itInstance) string {
	s := "version = 1\n[defaults]\nadmin_email = \"it@example.com\"\n"
	for _, i := range ins {
		s += i.toml()
	}
	return s
}

// TestInstancesIntegration drives a reconciler over the real engine and the real images
// through the scenarios, in order, on one set of instances.
func TestInstancesIntegration(t *testing.T) {
	w := newEngineWorld(t, "WPDIND_INTEGRATION", 3, "wp-php:7.4", "wp-php:8.2", "wp-php:8.4",
		"wp-mariadb:10.5", "wp-mariadb:11.8", "wp-nginx:1.18", "wp-nginx:1.26", "wp-apache:2.4")
	ports, root, file := w.ports, w.root, w.file
	a := itInstance{name: w.instance("a"), php: "7.4", dbVersion: "10.5", web: "1.18", id: 201, port: ports[0]}
	b := itInstance{name: w.instance("b"), php: "8.4", dbVersion: "11.8", web: "1.26", id: 202, port: ports[1]}
	c := itInstance{name: w.instance("c"), php: "8.4", dbVersion: "11.8", web: "2.4", webFlavor: "apache", id: 203, port: ports[2]}
	writeFileAtomic(t, file, itFile(a, b))

	opt := w.opt
	opt.Resync = 20 * time.Second
	r := startReconciler(t, w.eng, opt)
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Minute):
		t.Fatal("first pass not done after 10 minutes")
	}
	for _, in := range []itInstance{a, b} {
		if st := r.instanceState(in.name); st.State != StateRunning {
			t.Fatalf("%s is %q: %s", in.name, st.State, st.LastError)
		}
	}

	t.Run("serve and report their own PHP", func(t *testing.T) {
		for _, in := range []itInstance{a, b} {
			if err := serves(t, in.port); err != nil {
				t.Errorf("%s: %v", in.name, err)
			}
			v := dockerOut(t, "exec", in.name+"-php", "php", "-r", "echo PHP_MAJOR_VERSION.'.'.PHP_MINOR_VERSION;")
			if v != in.php {
				t.Errorf("%s runs PHP %q, want %s", in.name, v, in.php)
			}
		}
	})

	t.Run("isolated networks, no database port", func(t *testing.T) {
		connect := func(from, ip string) error {
			code := fmt.Sprintf(`$s=@fsockopen(%q,3306,$e,$m,3); exit($s?0:1);`, ip)
			return exec.Command("docker", "exec", from, "php", "-r", code).Run()
		}
		if err := connect(a.name+"-php", w.network(a.id).IP(instance.RoleDB)); err != nil {
			t.Fatalf("control: %s cannot reach its own database: %v", a.name, err)
		}
		if err := connect(a.name+"-php", w.network(b.id).IP(instance.RoleDB)); err == nil {
			t.Errorf("%s reaches %s's database", a.name, b.name)
		}
		for _, in := range []itInstance{a, b} {
			if p := dockerOut(t, "port", in.name+"-db"); p != "" {
				t.Errorf("%s-db publishes %s", in.name, p)
			}
		}
	})

	ids := func(names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			for _, role := range instance.Roles {
				m[instance.ContainerName(n, role)] = containerID(instance.ContainerName(n, role))
			}
		}
		return m
	}
	unchanged := func(t *testing.T, before map[string]string, except ...string) {
		t.Helper()
		for name, id := range before {
			changed := containerID(name) != id
			if want := contains(except, name); changed != want {
				t.Errorf("%s changed=%v, want %v", name, changed, want)
			}
		}
	}

	t.Run("adding an instance (on Apache) leaves the others alone", func(t *testing.T) {
		before := ids(a.name, b.name)
		writeFileAtomic(t, file, itFile(a, b, c))
		testutil.WaitFor(t, 5*time.Minute, c.name+" running", func() bool { return siteOK(c.port) == nil })
		unchanged(t, before)
	})

	t.Run("changing PHP recreates only the PHP container, posts remain", func(t *testing.T) {
		post := dockerOut(t, "exec", "-u", "www-data", a.name+"-php", "php", "-r",
			`require "/var/www/html/wp-load.php"; echo wp_insert_post(["post_title"=>"kept across PHP versions","post_status"=>"publish"]);`)
		if post == "" || post == "0" {
			t.Fatalf("insert post: %q", post)
		}
		before := ids(a.name, b.name, c.name)
		a.php = "8.2"
		writeFileAtomic(t, file, itFile(a, b, c))
		testutil.WaitFor(t, 5*time.Minute, a.name+" on PHP 8.2", func() bool {
			return dockerOut(t, "exec", a.name+"-php", "php", "-r", "echo PHP_MINOR_VERSION;") == "2" && r.instanceState(a.name).State == StateRunning
		})
		unchanged(t, before, a.name+"-php")
		title := dockerOut(t, "exec", "-u", "www-data", a.name+"-php", "php", "-r",
			`require "/var/www/html/wp-load.php"; echo get_post(`+post+`)->post_title;`)
		if title != "kept across PHP versions" {
			t.Errorf("post %s after the change: %q", post, title)
		}
		if err := serves(t, a.port); err != nil {
			t.Error(err)
		}
	})

	t.Run("a container removed or stopped by hand comes back", func(t *testing.T) {
		old := containerID(b.name + "-web")
		dockerOut(t, "rm", "-f", b.name+"-web")
		testutil.WaitFor(t, 3*time.Minute, b.name+"-web back", func() bool {
			id := containerID(b.name + "-web")
			return id != "" && id != old && siteOK(b.port) == nil
		})
		dockerOut(t, "stop", b.name+"-php")
		testutil.WaitFor(t, 3*time.Minute, b.name+"-php running again", func() bool {
			return dockerOut(t, "inspect", "-f", "{{.State.Running}}", b.name+"-php") == "true" && siteOK(b.port) == nil
		})
	})

	t.Run("a file with a syntax error changes nothing and shows its line", func(t *testing.T) {
		before := ids(a.name, b.name, c.name)
		writeFileAtomic(t, file, itFile(a, b, c)+"[[instance]]\nname = = \"broken\"\n")
		testutil.WaitFor(t, time.Minute, "the error in status", func() bool { return len(r.Status().FileLines) > 0 })
		st := r.Status()
		lines := strings.Count(itFile(a, b, c), "\n") + 2 // the line of `name = =`
		if fe := st.FileLines[0]; fe.Line != lines || !strings.Contains(st.FileError, fmt.Sprintf("instances.toml:%d", lines)) {
			t.Errorf("file error = %+v (%s), want line %d", fe, st.FileError, lines)
		}
		passAfter(t, r, time.Minute) // a pass over the bad file: it must change nothing
		unchanged(t, before)
		for _, in := range []itInstance{a, b, c} {
			if err := serves(t, in.port); err != nil {
				t.Error(err)
			}
		}
		writeFileAtomic(t, file, itFile(a, b, c))
		testutil.WaitFor(t, time.Minute, "the error to clear", func() bool { return r.Status().FileError == "" })
	})

	t.Run("removing an instance archives its data", func(t *testing.T) {
		before := ids(a.name, b.name)
		writeFileAtomic(t, file, itFile(a, b))
		testutil.WaitFor(t, 2*time.Minute, c.name+" removed", func() bool {
			return containerID(c.name+"-db") == "" && r.instanceState(c.name).Name == ""
		})
		unchanged(t, before)
		arch, err := instance.ListArchived(root, c.name)
		if err != nil || len(arch) != 1 {
			t.Fatalf("archive of %s: %v, %v", c.name, arch, err)
		}
		for _, rel := range []string{"data/mysql", "data/wordpress/wp-config.php", "config/php-8.4/php.ini", ".env"} {
			if _, err := os.Stat(filepath.Join(arch[0].Path, rel)); err != nil {
				t.Errorf("archived %s: %v", rel, err)
			}
		}
		if _, err := os.Stat(filepath.Join(root, c.name)); !os.IsNotExist(err) {
			t.Errorf("live folder of %s still there: %v", c.name, err)
		}
		testutil.WaitFor(t, time.Minute, "network of "+c.name+" removed", func() bool {
			return dockerOut(t, "network", "ls", "-q", "--filter", "name=^"+w.network(c.id).Name+"$") == ""
		})
	})

	t.Run("status shows secrets only on request", func(t *testing.T) {
		d, err := r.Detail(a.name, false)
		if err != nil || d.Secrets != nil || len(d.Containers) != 3 || d.Health != "healthy" && d.Health != "starting" {
			t.Errorf("detail = %+v, %v", d, err)
		}
		d, err = r.Detail(a.name, true)
		if err != nil || d.Secrets == nil || len(d.Secrets.AdminPassword) != 32 {
			t.Errorf("detail with secrets: %v", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

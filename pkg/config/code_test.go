package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// projects makes a projects folder: two plugins, a theme, a file, a link inside it and one
// leading out.
func projects(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"my-plugin", "clients/acme/plugin", "my-theme", "tools"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, to := range map[string]string{"inside": "my-plugin", "outside": t.TempDir()} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCodeMounts(t *testing.T) {
	root := projects(t)
	src := `version = 1
[defaults]
plugins = ["my-plugin"]
mounts = { "wp-content/mu-plugins/tools" = "tools" }

[[instance]]
name = "a"
themes = ["my-theme"]
multisite = "subdirectory"

[[instance]]
name = "b"
plugins = ["clients/acme/plugin", "inside"]
mounts = {}
backup_mounts = true
`
	cfg, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Check(Env{Projects: root}); err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	got := func(in Instance) []string {
		var out []string
		for _, c := range in.Code {
			rel, _ := filepath.Rel(root, c.Path)
			out = append(out, string(c.Kind)+":"+c.Target+"<-"+rel)
		}
		return out
	}
	wantA := []string{"plugin:wp-content/plugins/my-plugin<-my-plugin", "theme:wp-content/themes/my-theme<-my-theme",
		"mount:wp-content/mu-plugins/tools<-tools"}
	wantB := []string{"plugin:wp-content/plugins/plugin<-clients/acme/plugin", "plugin:wp-content/plugins/inside<-my-plugin"}
	if g := got(a); strings.Join(g, " ") != strings.Join(wantA, " ") {
		t.Errorf("a: %v, want %v", g, wantA)
	}
	if g := got(b); strings.Join(g, " ") != strings.Join(wantB, " ") {
		t.Errorf("b: %v, want %v", g, wantB)
	}
	if a.Multisite != MultisiteSubdirectory || b.Multisite != MultisiteNone || a.BackupCode || !b.BackupCode {
		t.Errorf("multisite %q %q, backup_mounts %v %v", a.Multisite, b.Multisite, a.BackupCode, b.BackupCode)
	}
	if a.Code[0].Name() != "my-plugin" {
		t.Errorf("name = %q", a.Code[0].Name())
	}
}

// TestCodeShapeErrors: what the file alone shows wrong, with its line.
func TestCodeShapeErrors(t *testing.T) {
	src := `version = 1
[[instance]]
name = "a"
plugins = ["/abs", "../up", "a/../b", "x:y", ""]
themes = ["t", "other/t"]
mounts = { "/etc" = "tools", "wp-content/../.." = "tools" }
multisite = "yes"
`
	_, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	want := []string{
		`i.toml:4: instance[0].plugins[0]: "/abs" is absolute`,
		`i.toml:4: instance[0].plugins[1]: "../up" leaves the projects folder`,
		`i.toml:4: instance[0].plugins[2]: "a/../b" leaves the projects folder`,
		`i.toml:4: instance[0].plugins[3]: "x:y" holds a colon`,
		`i.toml:4: instance[0].plugins[4]: empty path`,
		`i.toml:5: instance[0].themes[1]: other/t is mounted at wp-content/themes/t by instance[0].themes[0] already`,
		`i.toml:6: instance[0].mounts./etc: mount target "/etc"`,
		`i.toml:6: instance[0].mounts.wp-content/../..: mount target "wp-content/../.."`,
		`i.toml:7: instance[0].multisite: unknown multisite "yes"`,
	}
	wantFieldErrors(t, err, want)
}

// TestCodeCheckErrors: what only the projects folder shows wrong, and the service names.
func TestCodeCheckErrors(t *testing.T) {
	root := projects(t)
	src := `version = 1
[defaults]
plugins = ["missing"]

[[instance]]
name = "a"

[[instance]]
name = "nginx"
plugins = ["outside", "notes.txt"]
themes = ["my-plugin/.."]
mounts = { "wp-content/x" = "notes.txt" }

[[matrix]]
name = "maildev"
php = ["8.4"]
plugins = []
`
	if _, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts); err == nil {
		t.Fatal("my-plugin/.. passed the shape check")
	}
	src = strings.Replace(src, `themes = ["my-plugin/.."]`, `themes = ["my-theme"]`, 1)
	cfg, err := ParseInstances("i.toml", []byte(src), nil, defaultPorts)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Check(Env{Projects: root, Services: []string{"dockerd", "nginx", "maildev"}})
	want := []string{
		`i.toml:3: defaults.plugins[0]: missing does not exist in the projects folder`,
		`i.toml:9: instance[1].name: "nginx" is the name of a service of wpinit.toml`,
		`i.toml:10: instance[1].plugins[0]: outside leads to`,
		`i.toml:10: instance[1].plugins[1]: notes.txt is not a folder`,
		`i.toml:15: matrix[0].name: "maildev" is the name of a service`,
	}
	wantFieldErrors(t, err, want)
	if err := cfg.Check(Env{}); err == nil || !strings.Contains(err.Error(), "no projects folder") {
		t.Errorf("no projects folder: %v", err)
	}
}

// wantFieldErrors holds err to one problem per want, in order, each containing its want.
func wantFieldErrors(t *testing.T, err error, want []string) {
	t.Helper()
	got := FieldErrors(err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(got[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, got[i].Error(), w)
		}
	}
}

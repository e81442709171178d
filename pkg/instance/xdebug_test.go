package instance

import (
	"os"
	"strings"
	"testing"
)

func TestXdebugModeOf(t *testing.T) {
	for _, tc := range []struct {
		in    string
		mode  string
		found bool
	}{
		{"", "", false},
		{"; xdebug.mode = debug\n", "", false},
		{"xdebug.mode = off\n", "off", true}, // a bare off is an INI boolean: ""
		{`xdebug.mode = "off"` + "\n", "off", true},
		{"xdebug.mode=debug ; trace too\n", "debug", true},
		{"xdebug.mode = 'develop,debug'\n", "develop,debug", true},
		{"xdebug.mode = debug\nmemory_limit = 1G\nxdebug.mode = \"off\"\n", "off", true}, // the last one wins
		{"  xdebug.mode  =  DEBUG  \n", "debug", true},
		{"xdebug.modeX = debug\n", "", false},
	} {
		mode, found := XdebugModeOf([]byte(tc.in))
		if mode != tc.mode || found != tc.found {
			t.Errorf("XdebugModeOf(%q) = %q, %v; want %q, %v", tc.in, mode, found, tc.mode, tc.found)
		}
	}
}

func TestSetXdebugModeKeepsOtherLines(t *testing.T) {
	in := "; mine\nmemory_limit = 1G\nxdebug.mode = off\nxdebug.client_port = 9003\n"
	got := string(setXdebugMode([]byte(in), XdebugDebug))
	want := "; mine\nmemory_limit = 1G\nxdebug.mode = \"debug\"\nxdebug.client_port = 9003\n"
	if got != want {
		t.Errorf("set:\n%s\nwant:\n%s", got, want)
	}
	got = string(setXdebugMode([]byte("memory_limit = 1G"), XdebugDebug))
	if !strings.HasPrefix(got, "memory_limit = 1G\n") || !strings.HasSuffix(got, "xdebug.mode = \"debug\"\n") {
		t.Errorf("append:\n%s", got)
	}
	if a, b := withoutXdebugMode([]byte(in)), withoutXdebugMode([]byte(want)); string(a) != string(b) || strings.Contains(string(a), "xdebug.mode") {
		t.Errorf("hash content differs with the mode alone: %q vs %q", a, b)
	}
}

// readINI returns the instance's php.ini.
func readINI(t *testing.T, p *Prepared) string {
	t.Helper()
	b, err := os.ReadFile(p.Def.Container(RolePHP).ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestXdebugDeclaredInPHPIniNotInHash(t *testing.T) {
	root := t.TempDir()
	off := mustPrepare(t, root, testInstance(t, ""))
	if !strings.Contains(readINI(t, off), `xdebug.mode = "off"`) || off.XdebugMode != XdebugOff {
		t.Fatalf("default php.ini mode: %q\n%s", off.XdebugMode, readINI(t, off))
	}
	on := mustPrepare(t, root, testInstance(t, "xdebug = true\n"))
	if !strings.Contains(readINI(t, on), `xdebug.mode = "debug"`) || on.XdebugMode != XdebugDebug {
		t.Fatalf("xdebug = true: %q\n%s", on.XdebugMode, readINI(t, on))
	}
	if on.Def.Container(RolePHP).Hash != off.Def.Container(RolePHP).Hash {
		t.Error("the PHP container's hash must not depend on the Xdebug mode")
	}
	if len(on.Kept) != 0 {
		t.Errorf("a switched default is still a default: kept %v", on.Kept)
	}
	if !on.XdebugReload() {
		t.Error("a mode PHP-FPM does not run with needs a reload")
	}
	if err := SetXdebugRunning(on.Layout, XdebugDebug); err != nil {
		t.Fatal(err)
	}
	if again := mustPrepare(t, root, testInstance(t, "xdebug = true\n")); again.XdebugReload() {
		t.Error("reload asked for though PHP-FPM runs with the file's mode")
	}
}

func TestSetXdebugSurvivesPassesUntilTheDeclarationChanges(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "php_ini = { memory_limit = \"512M\" }\n")
	p := mustPrepare(t, root, in)
	changed, err := SetXdebug(p.Layout, in.PHP, XdebugDebug)
	if err != nil || !changed {
		t.Fatalf("SetXdebug = %v, %v", changed, err)
	}
	if again, _ := SetXdebug(p.Layout, in.PHP, XdebugDebug); again {
		t.Error("setting the same mode twice changed the file")
	}
	// The next pass, same declaration: ctl's choice stands, the file is still a default.
	p2 := mustPrepare(t, root, in)
	if p2.XdebugMode != XdebugDebug || len(p2.Kept) != 0 {
		t.Fatalf("after a pass: mode %q, kept %v", p2.XdebugMode, p2.Kept)
	}
	// A stale default is still regenerated (php_ini changed) and keeps the mode.
	in.PHPIni = map[string]string{"memory_limit": "768M"}
	p3 := mustPrepare(t, root, in)
	if ini := readINI(t, p3); !strings.Contains(ini, "memory_limit = 768M") || p3.XdebugMode != XdebugDebug {
		t.Fatalf("regenerated default lost the mode or the change: %q\n%s", p3.XdebugMode, ini)
	}
	// An unchanged declaration leaves the file's mode; a changed one wins.
	p4 := mustPrepare(t, root, testInstance(t, "xdebug = false\nphp_ini = { memory_limit = \"768M\" }\n"))
	if p4.XdebugMode != XdebugDebug {
		t.Fatalf("xdebug = false, unchanged declaration: mode %q", p4.XdebugMode)
	}
	p5 := mustPrepare(t, root, testInstance(t, "xdebug = true\nphp_ini = { memory_limit = \"768M\" }\n"))
	p6 := mustPrepare(t, root, testInstance(t, "xdebug = false\nphp_ini = { memory_limit = \"768M\" }\n"))
	if p5.XdebugMode != XdebugDebug || p6.XdebugMode != XdebugOff {
		t.Errorf("declaration changes: %q then %q", p5.XdebugMode, p6.XdebugMode)
	}
}

func TestXdebugSwitchKeepsAnEditedFile(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	p := mustPrepare(t, root, in)
	path := p.Def.Container(RolePHP).ConfigFile
	edited := "; my own php.ini\nmemory_limit = 2G\nxdebug.mode = off\n"
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SetXdebug(p.Layout, in.PHP, XdebugDebug); err != nil {
		t.Fatal(err)
	}
	want := "; my own php.ini\nmemory_limit = 2G\nxdebug.mode = \"debug\"\n"
	p2 := mustPrepare(t, root, in)
	if got := readINI(t, p2); got != want || len(p2.Kept) != 1 {
		t.Fatalf("edited file after ctl and a pass (kept %v):\n%s", p2.Kept, got)
	}
	// The declaration changes: only the one setting is switched, the edit stays an edit.
	p3 := mustPrepare(t, root, testInstance(t, "xdebug = true\n"))
	p4 := mustPrepare(t, root, testInstance(t, "xdebug = false\n"))
	if got := readINI(t, p4); got != strings.Replace(want, `"debug"`, `"off"`, 1) || len(p4.Kept) != 1 || p3.XdebugMode != XdebugDebug {
		t.Errorf("edited file after declaration changes (kept %v):\n%s", p4.Kept, got)
	}
	if p4.Def.Container(RolePHP).Hash != p2.Def.Container(RolePHP).Hash {
		t.Error("switching the mode of an edited file changed the container's hash")
	}
}

package instance

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/config"
)

// Xdebug's state lives in the instance's php.ini, as the one setting xdebug.mode: the file
// is generated from instances.toml's `xdebug`, switched by SetXdebug (`ctl xdebug`) and
// applied by a graceful PHP-FPM reload (USR2). That setting is left out of the PHP
// container's hash, so switching it never recreates the container.

// XdebugHost is xdebug.client_host in the generated php.ini: a name the PHP container maps to
// its network's gateway, where wp-dind forwards the client port to the IDE.
const XdebugHost = "host.docker.internal"

// Xdebug modes wpinit writes.
const (
	XdebugDebug = "debug"
	XdebugOff   = "off"
)

// XdebugMode is the mode instances.toml's `xdebug` stands for.
func XdebugMode(on bool) string {
	if on {
		return XdebugDebug
	}
	return XdebugOff
}

// xdebugLine matches an active xdebug.mode setting; group 1 is its value.
var xdebugLine = regexp.MustCompile(`^\s*xdebug\.mode\s*=\s*(.*?)\s*$`)

// XdebugModeOf returns the effective xdebug.mode of php.ini content (its last active
// setting, quotes and comments removed, "off" for an empty value) and whether it has one.
func XdebugModeOf(content []byte) (string, bool) {
	mode, found := "", false
	for _, line := range strings.Split(string(content), "\n") {
		m := xdebugLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		mode, found = iniValue(m[1]), true
	}
	if found && (mode == "" || mode == "0") {
		mode = XdebugOff // an unquoted off is an INI boolean: PHP reads it as ""
	}
	return mode, found
}

func iniValue(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : end+1]
		}
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// xdebugSetting is the line wpinit writes; quoted, since a bare off reads as "".
func xdebugSetting(mode string) string { return fmt.Sprintf("xdebug.mode = %q", mode) }

// setXdebugMode returns content with every active xdebug.mode line set to mode, or with the
// setting appended when it has none. Every other line is kept as it is.
func setXdebugMode(content []byte, mode string) []byte {
	lines := strings.Split(string(content), "\n")
	found := false
	for i, line := range lines {
		if xdebugLine.MatchString(line) {
			lines[i], found = xdebugSetting(mode), true
		}
	}
	out := strings.Join(lines, "\n")
	if !found {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += "; Xdebug, switched by `ctl xdebug`.\n" + xdebugSetting(mode) + "\n"
	}
	return []byte(out)
}

// withoutXdebugMode is php.ini content without its xdebug.mode lines: what the PHP
// container's hash covers, so that switching Xdebug does not recreate the container.
func withoutXdebugMode(content []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(content), "\n") {
		if !xdebugLine.MatchString(strings.TrimRight(line, "\n")) {
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

// SetXdebug writes mode into the instance's php.ini for php (config/php-X.Y/php.ini),
// atomically, changing only the xdebug.mode setting. A file that was still wpinit's default
// stays recorded as generated (with its new hash); a file the user edited stays an edit.
// It reports whether the file changed. The caller reloads PHP-FPM.
func SetXdebug(l Layout, php config.Component, mode string) (bool, error) {
	path := l.ConfigFile(RolePHP, php)
	cur, err := readFile(path)
	if err != nil {
		return false, fmt.Errorf("read php.ini of %q: %w", l.Name, err)
	}
	next := setXdebugMode(cur, mode)
	if bytes.Equal(cur, next) {
		return false, nil
	}
	info, err := ReadInfo(l)
	if err != nil {
		return false, err
	}
	if err := atomicfile.Write(path, next, 0o644); err != nil {
		return false, fmt.Errorf("write php.ini of %q: %w", l.Name, err)
	}
	rel := l.rel(path)
	if info.Generated != nil && info.Generated[rel] == sum(cur) {
		info.Generated[rel] = sum(next)
		if err := writeInfo(l, info); err != nil {
			return true, err
		}
	}
	return true, nil
}

// SetXdebugRunning records the xdebug.mode PHP-FPM runs with: after a reload, or after its
// container started with the file as it is. A pass compares it with the file's mode.
func SetXdebugRunning(l Layout, mode string) error {
	_, err := updateInfo(l, func(info *Info) { info.XdebugRunning = mode })
	return err
}

// xdebugTarget is the mode php.ini should have: the declaration's when it is new or changed
// since it was last applied, else the file's own (switched by `ctl xdebug` or by hand).
func xdebugTarget(path string, in *config.Instance, info *Info) string {
	want := XdebugMode(in.Xdebug)
	if info.XdebugDeclared == nil || *info.XdebugDeclared != in.Xdebug {
		return want
	}
	cur, err := readFile(path)
	if err != nil {
		return want
	}
	return effectiveXdebug(cur)
}

// effectiveXdebug is the mode PHP runs with for php.ini content: its own, else the image's
// default, off.
func effectiveXdebug(content []byte) string {
	if mode, ok := XdebugModeOf(content); ok {
		return mode
	}
	return XdebugOff
}

// syncPHPIni is syncGenerated for php.ini, with Xdebug's mode carried over: the default is
// generated with the mode the file should have, and an edited file whose declaration of
// `xdebug` changed gets that one setting switched, the rest of the edit kept.
func (p *Prepared) syncPHPIni(path string, in *config.Instance) ([]byte, error) {
	changed := p.Info.XdebugDeclared == nil || *p.Info.XdebugDeclared != in.Xdebug
	mode := xdebugTarget(path, in, p.Info)
	content, err := p.syncGenerated(path, []byte(phpINI(in, mode)))
	if err != nil {
		return nil, err
	}
	if changed && effectiveXdebug(content) != mode {
		content = setXdebugMode(content, mode)
		if err := atomicfile.Write(path, content, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	declared := in.Xdebug
	p.Info.XdebugDeclared = &declared
	p.XdebugMode = effectiveXdebug(content)
	return content, nil
}

package phpmyadmin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// DefaultPath is where wp-dind's phpMyAdmin reads the fragment.
const DefaultPath = "/etc/phpmyadmin/conf.d/wp-dind-instances.php"

// Server is one entry of phpMyAdmin's server list.
type Server struct {
	Name string // shown in the server choice (verbose)
	Host string
	Port int
}

// Servers lists the instances' databases, in the order given, at their addresses in net.
func Servers(ins []config.Instance, net instance.Addressing) []Server {
	out := make([]Server, 0, len(ins))
	for _, in := range ins {
		out = append(out, Server{Name: in.Name, Host: net.Instance(in.ID).IP(instance.RoleDB), Port: 3306})
	}
	return out
}

// Render returns the PHP fragment defining servers.
//
// Debian's config.inc.php defines no server of its own unless dbconfig-common configured
// one, and the image's wp-dind.php (in the same folder, read after or before this file,
// depending on names) uses slot 1 for a free "any address" login. The entries therefore
// start after the highest slot defined when the fragment runs, and never below 2: slot 1
// stays the base configuration's in either order.
func Render(servers []Server) []byte {
	var b bytes.Buffer
	b.WriteString(`<?php
// phpMyAdmin servers of the wp-dind instances: written by wpinit from instances.toml
// whenever the instances change. Do not edit: it is rewritten.
if (!isset($cfg['Servers']) || !is_array($cfg['Servers'])) {
    $cfg['Servers'] = [];
}
$wpDindSlot = max(array_merge([1], array_keys($cfg['Servers'])));
`)
	for _, s := range servers {
		fmt.Fprintf(&b, "\n// instance %s\n$wpDindSlot++;\n$cfg['Servers'][$wpDindSlot] = [\n", s.Name)
		for _, kv := range [][2]string{
			{"verbose", phpString(s.Name)},
			{"host", phpString(s.Host)},
			{"port", phpString(fmt.Sprint(s.Port))},
			{"connect_type", phpString("tcp")},
			{"auth_type", phpString("cookie")},
			{"AllowNoPassword", "false"},
		} {
			fmt.Fprintf(&b, "    %s => %s,\n", phpString(kv[0]), kv[1])
		}
		b.WriteString("];\n")
	}
	b.WriteString("unset($wpDindSlot);\n")
	return b.Bytes()
}

// phpString quotes s as a single-quoted PHP string: only \ and ' are special there.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Writer keeps the fragment at Path in step with the instances.
type Writer struct {
	Path    string
	Network instance.Addressing // the reconciler's: where the databases listen
	Logger  hclog.Logger
}

// Write replaces the fragment with servers' unless it holds them already; it reports
// whether it wrote.
func (w *Writer) Write(servers []Server) (bool, error) {
	data := Render(servers)
	if cur, err := os.ReadFile(w.Path); err == nil && bytes.Equal(cur, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(w.Path), 0o755); err != nil {
		return false, fmt.Errorf("write phpmyadmin servers: %w", err)
	}
	// PHP-FPM's workers (www-data) read it; the temporary name does not end in .php, so it
	// is never included.
	if err := atomicfile.Write(w.Path, data, 0o644); err != nil {
		return false, fmt.Errorf("write phpmyadmin servers: %w", err)
	}
	return true, nil
}

// Update is the reconciler's OnInstances hook: it writes the instances' servers and logs
// the outcome (a failure is logged, never fatal: the sites do not depend on phpMyAdmin).
func (w *Writer) Update(ins []config.Instance) {
	log := w.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	changed, err := w.Write(Servers(ins, w.Network))
	switch {
	case err != nil:
		log.Error("failed to write phpmyadmin servers", "path", w.Path, "error", err)
	case changed:
		log.Info("wrote phpmyadmin servers", "path", w.Path, "servers", len(ins))
	}
}

package config

import (
	"maps"
	"slices"
	"strings"
)

// php_fpm is the instance's PHP-FPM pool: settings php.ini cannot reach (the process
// manager above all), appended to the generated config/php-X.Y/php-fpm.conf, which the PHP
// image adds to its one pool. The image owns how the pool is reached and checked, so those
// settings are refused here: a pool listening elsewhere, or as another user, would break
// the web server's FastCGI, the health check or the admitted clients.

// FPMProcessManagers are the values of php_fpm's pm.
var FPMProcessManagers = []string{"ondemand", "dynamic", "static"}

// fpmOwned tells whether the image owns the pool setting name.
func fpmOwned(name string) bool {
	switch name {
	case "user", "group", "listen", "chroot", "chdir", "prefix", "include", "clear_env",
		"ping.path", "ping.response", "pm.status_path":
		return true
	}
	return strings.HasPrefix(name, "listen.")
}

// fpmPool checks a php_fpm table: the names and values php_ini allows, no setting the image
// owns, and a known process manager.
func (v *validator) fpmPool(key string, m map[string]string) {
	v.iniMap(key, m)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if fpmOwned(k) {
			v.addOnce(key+"."+k, "%q belongs to the PHP image's pool (docs/images.md, \"php\"): it cannot be set here", k)
		}
	}
	if pm, ok := m["pm"]; ok && !slices.Contains(FPMProcessManagers, pm) {
		v.addOnce(key+".pm", "unknown process manager %q: use one of %s", pm, strings.Join(FPMProcessManagers, ", "))
	}
}

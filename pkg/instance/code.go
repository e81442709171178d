package instance

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// The developer's code in a site (config.Code): each folder is bind-mounted read-only at its
// target under the document root, in the PHP container (which runs it) and in the web server's
// (which serves its static files). Read-only, so that WordPress deleting or updating a plugin
// cannot touch the checkout; an edit on the host is seen by the next request. Docker makes
// the mount points inside data/wordpress (empty folders), which is why a backup of the
// instance's files holds no mounted code unless backup_mounts asks for it (backups.go).

// DocRoot is where the PHP and web containers see the site's files (data/wordpress).
const DocRoot = "/var/www/html"

// codeMounts are the bind mounts of the instance's code, in the order of its declaration.
func codeMounts(in *config.Instance) []Mount {
	var out []Mount
	for _, c := range in.Code {
		out = append(out, Mount{Source: c.Path, Target: path.Join(DocRoot, c.Target), ReadOnly: true})
	}
	return out
}

// PathMapping is one pair an IDE's debugger needs: where the host sees a file, and where PHP
// runs it.
type PathMapping struct {
	Host      string `json:"host"`
	Container string `json:"container"`
}

// HostPaths says where the machine running wp-dind sees wp-dind's folders (make run's
// WPINIT_HOST_ROOT and WPINIT_HOST_PROJECTS); an empty one maps to wp-dind's own path.
type HostPaths struct {
	Root, HostRoot         string // the instances root, in wp-dind and on the host
	Projects, HostProjects string // the projects folder, in wp-dind and on the host
}

// PathMappings lists the IDE's mappings of the instance: its code, most specific first, then
// the document root.
func PathMappings(in *config.Instance, h HostPaths) []PathMapping {
	var out []PathMapping
	for _, c := range in.Code {
		host := hostPath(filepath.Join(h.Projects, c.Source), h.Projects, h.HostProjects)
		out = append(out, PathMapping{Host: host, Container: path.Join(DocRoot, c.Target)})
	}
	docroot := Layout{Root: h.Root, Name: in.Name}.WordPressDir()
	return append(out, PathMapping{Host: hostPath(docroot, h.Root, h.HostRoot), Container: DocRoot})
}

// hostPath is p, a path under dir, as the host sees it under hostDir.
func hostPath(p, dir, hostDir string) string {
	rel, err := filepath.Rel(dir, p)
	if hostDir == "" || err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return filepath.Join(hostDir, rel)
}

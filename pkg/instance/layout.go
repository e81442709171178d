package instance

import (
	"path/filepath"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Folder and file names inside an instance's folder, as the design lays them out.
const (
	InfoFile     = ".instance-info"
	SecretsFile  = ".env" // docker-compose reads it for ${...} in docker-compose.yml
	ComposeFile  = "docker-compose.yml"
	ArchiveDir   = ".archive" // under the root: instances gone from instances.toml
	BackupsDir   = "backups"  // under the root: backup archives (never an instance: the name is reserved)
	configDir    = "config"
	logsDir      = "logs"
	wordpressDir = "data/wordpress"
	mysqlDir     = "data/mysql"
)

// Role is one of an instance's three containers.
type Role string

const (
	RoleDB  Role = "db"
	RolePHP Role = "php"
	RoleWeb Role = "web"
)

// Roles lists the roles in start order: the database, then PHP, then the web server.
var Roles = []Role{RoleDB, RolePHP, RoleWeb}

// Layout names the paths of the instance called Name under Root.
type Layout struct {
	Root string
	Name string
}

// Dir is the instance's folder, /wordpress-instances/NAME.
func (l Layout) Dir() string { return filepath.Join(l.Root, l.Name) }

func (l Layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir()}, elem...)...)
}

// ConfigDir is config/<flavor>-<X.Y>, mounted read-only at /etc/wp-dind in the container.
func (l Layout) ConfigDir(c config.Component) string { return l.path(configDir, c.Dir()) }

// LogDir is logs/<flavor>-<X.Y>, mounted at /var/log/wp-dind in the container.
func (l Layout) LogDir(c config.Component) string { return l.path(logsDir, c.Dir()) }

// ConfigFile is the one file the role's image reads from its config folder.
func (l Layout) ConfigFile(r Role, c config.Component) string {
	return filepath.Join(l.ConfigDir(c), configFileName[r])
}

var configFileName = map[Role]string{RoleDB: "my.cnf", RolePHP: "php.ini", RoleWeb: "wordpress.conf"}

// FPMConfigFile is the PHP container's second file, config/php-X.Y/php-fpm.conf: its
// PHP-FPM pool's settings, which php.ini cannot hold.
func (l Layout) FPMConfigFile(php config.Component) string {
	return filepath.Join(l.ConfigDir(php), "php-fpm.conf")
}

// WordPressDir is data/wordpress, the document root.
func (l Layout) WordPressDir() string { return l.path(wordpressDir) }

// MySQLDir is data/mysql, the database's data directory.
func (l Layout) MySQLDir() string { return l.path(mysqlDir) }

// InfoPath, SecretsPath and ComposePath are the instance's own files.
func (l Layout) InfoPath() string    { return l.path(InfoFile) }
func (l Layout) SecretsPath() string { return l.path(SecretsFile) }
func (l Layout) ComposePath() string { return l.path(ComposeFile) }

// rel is p relative to the instance folder, as recorded in .instance-info.
func (l Layout) rel(p string) string {
	r, err := filepath.Rel(l.Dir(), p)
	if err != nil {
		return p
	}
	return r
}

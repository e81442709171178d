package instance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/config"
)

// Prepared is an instance whose folder agrees with its declaration.
type Prepared struct {
	Layout  Layout
	Def     Definition
	Secrets Secrets
	Info    *Info
	Kept    []string // config files edited by hand whose new default was not written
	// XdebugMode is the xdebug.mode php.ini holds now; PHP-FPM needs a reload when it is
	// not Info.XdebugRunning.
	XdebugMode string
}

// XdebugReload reports whether PHP-FPM runs with another Xdebug mode than php.ini's.
func (p *Prepared) XdebugReload() bool { return p.XdebugMode != p.Info.XdebugRunning }

// Service users of the images (docs/images.md): www-data for PHP and the web server, mysql
// for the database. The data folders are given to them when created.
const (
	uidWWW   = 33
	uidMySQL = 999
)

// Prepare makes the instance's folder agree with in: folders, secrets (first time only), the
// default config files for its versions (unless edited), docker-compose.yml and
// .instance-info. It writes only what changed, so preparing an unchanged instance only reads.
func Prepare(root string, in *config.Instance, o Options, now time.Time) (*Prepared, error) {
	l := Layout{Root: root, Name: in.Name}
	if err := makeFolders(l, in); err != nil {
		return nil, err
	}
	secrets, err := ensureSecrets(l)
	if err != nil {
		return nil, err
	}
	info, err := ReadInfo(l)
	fresh := err != nil
	if fresh {
		info = &Info{Created: now.UTC(), From: in.From} // a new folder: `from` applies (clone.go)
	}
	if info.Generated == nil {
		info.Generated = map[string]string{}
	}
	p := &Prepared{Layout: l, Secrets: secrets, Info: info}
	configs := map[Role][]byte{}
	net := o.Network.Instance(in.ID)
	phpAddr := net.IP(RolePHP) + ":9000"
	web := nginxConf(in, phpAddr)
	if in.Web.Flavor == config.FlavorApache {
		web = apacheConf(in, phpAddr)
	}
	for r, content := range map[Role]string{RoleDB: myCNF(in), RoleWeb: web} {
		comp := map[Role]config.Component{RoleDB: in.DB, RoleWeb: in.Web}[r]
		if configs[r], err = p.syncGenerated(l.ConfigFile(r, comp), []byte(content)); err != nil {
			return nil, err
		}
	}
	if configs[RolePHP], err = p.syncPHPIni(l.ConfigFile(RolePHP, in.PHP), in); err != nil {
		return nil, err
	}
	fpm, err := p.syncGenerated(l.FPMConfigFile(in.PHP), []byte(fpmConf(in)))
	if err != nil {
		return nil, err
	}
	configs[RolePHP] = append(append(configs[RolePHP], "\n; php-fpm.conf\n"...), fpm...) // both enter the hash
	p.Def = build(l, in, o, configs, info.Created)
	if err := writeIfChanged(l.ComposePath(), []byte(Compose(&p.Def)), 0o644); err != nil {
		return nil, fmt.Errorf("write compose file of %q: %w", in.Name, err)
	}
	own := func(i *Info) { // what Prepare writes; the rest is the convergence's (SetSeeded, ...)
		i.Name, i.ID, i.Port, i.URL = in.Name, in.ID, in.Port, in.URL()
		i.PHP, i.DB, i.Web = in.PHP.String(), in.DB.String(), in.Web.String()
		i.Network, i.Subnet = net.Name, net.Subnet.String()
		i.Generated, i.XdebugDeclared = info.Generated, info.XdebugDeclared
	}
	if fresh {
		own(info)
		if err := writeInfo(l, info); err != nil {
			return nil, err
		}
		return p, nil
	}
	// Written over the file as it is now, not as it was read above: a convergence may have
	// recorded its seed since.
	if p.Info, err = updateInfo(l, own); err != nil {
		return nil, err
	}
	return p, nil
}

// makeFolders creates the instance's folders that are missing. Each must be a folder, not a
// link: dockerd follows links in bind-mount sources, so a linked data/wordpress would mount
// another instance's document root, and a linked config folder would take wpinit's writes
// elsewhere.
func makeFolders(l Layout, in *config.Instance) error {
	if err := os.MkdirAll(l.Root, 0o755); err != nil {
		return fmt.Errorf("create instances folder: %w", err)
	}
	dirs := []string{l.Dir()}
	for _, c := range []config.Component{in.DB, in.PHP, in.Web} {
		dirs = append(dirs, l.ConfigDir(c), l.LogDir(c))
	}
	dm := newDirMaker(l.Root)
	for _, d := range dirs {
		if _, err := dm.ensure(d); err != nil {
			return fmt.Errorf("create folder of %q: %w", l.Name, err)
		}
	}
	if err := ensureSnapshotDirs(l, dm); err != nil { // the database container mounts snapshots/.db
		return err
	}
	for path, uid := range map[string]int{l.WordPressDir(): uidWWW, l.MySQLDir(): uidMySQL} {
		created, err := dm.ensure(path)
		if err != nil {
			return fmt.Errorf("create folder of %q: %w", l.Name, err)
		}
		if created && os.Geteuid() == 0 {
			if err := os.Chown(path, uid, uid); err != nil {
				return fmt.Errorf("give %s to uid %d: %w", path, uid, err)
			}
		}
	}
	return nil
}

// syncGenerated writes a default config file unless the user edited it, and returns the
// content the container will read. An existing file whose hash is the one recorded when
// wpinit wrote it is a stale default and is replaced; any other existing content is an edit
// and is kept (and reported in Kept when it differs from the new default).
func (p *Prepared) syncGenerated(path string, content []byte) ([]byte, error) {
	rel := p.Layout.rel(path)
	want := sum(content)
	cur, err := readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	case sum(cur) == want:
		p.Info.Generated[rel] = want
		return cur, nil
	case sum(cur) != p.Info.Generated[rel]:
		p.Kept = append(p.Kept, rel)
		return cur, nil
	}
	if err := atomicfile.Write(path, content, 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	p.Info.Generated[rel] = want
	return content, nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeIfChanged(path string, data []byte, mode os.FileMode) error {
	if cur, err := readFile(path); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	return atomicfile.Write(path, data, mode)
}

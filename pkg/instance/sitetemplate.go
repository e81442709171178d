package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/atomicfile"
	"github.com/wp-dind/wp-dind/pkg/config"
)

// Site templates: the first site of a kind (its database image and its PHP image, which
// carries the WordPress core) is installed as any other; then a snapshot of it, scrubbed of
// its secrets, becomes the kind's template, and every later new site of that kind starts
// from a copy of it (Seed) instead of running the installer. A template is a snapshot kept
// outside any instance:
//
//	.templates/KEY/template.json                   TemplateInfo
//	.templates/KEY/snapshots/template/             manifest.json, data/wordpress, .env (the template's own)
//	.templates/KEY/snapshots/.db/template/         the database's data directory
//
// KEY names both images by ID, so a rebuilt image (another core, another server build) never
// uses an older image's template: it makes its own, and the older templates of the same
// versions are removed when it is installed. The template keeps no secret of the site it was
// taken from: its database passwords are its own (.env), its administrator's password hash is
// unusable, no session survives and it has no wp-config.php (the salts and keys): the PHP
// image writes a fresh one for each site, and wp-dind-personalize gives it fresh salts again.

// TemplatesDir is the templates' folder under the instances root (a dot folder: never an instance).
const TemplatesDir = ".templates"

// TemplateLabel is the label of a template's snapshot, in the template and in the instance
// it is taken from while it is made.
const TemplateLabel = "template"

// TemplateInfo describes a template: what it was made with, and the administrator a site made
// from it renames.
type TemplateInfo struct {
	Key       string    `json:"key"`
	From      string    `json:"from"` // the instance it was taken from
	Created   time.Time `json:"created"`
	AdminUser string    `json:"admin_user"`
	URL       string    `json:"url"`
	DBImage   string    `json:"db_image"`  // image IDs
	PHPImage  string    `json:"php_image"` //
	WordPress string    `json:"wordpress"` // $wp_version of the copied core
	// Scripts are the core scripts its site's opcache held after its first front page: a
	// site made from the template has them compiled before its first request.
	Scripts []string `json:"opcache_scripts,omitempty"`
}

// Template is one template's folder under an instances root.
type Template struct {
	Root string // the instances root
	Key  string
}

// TemplateKey is the key of a template for in's database and PHP versions, with the IDs of
// the images that run them ("sha256:..."): "mariadb-11.8_php-8.4_DBID12_PHPID12".
func TemplateKey(in *config.Instance, dbImage, phpImage string) string {
	short := func(id string) string {
		id = strings.TrimPrefix(id, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		return id
	}
	return TemplateKind(in) + short(dbImage) + "_" + short(phpImage)
}

// TemplateKind is the prefix of the keys of in's versions, whatever the images: what sites
// wait on while their kind's first template is made ("mariadb-11.8_php-8.4_").
func TemplateKind(in *config.Instance) string {
	return fmt.Sprintf("%s-%s_php-%s_", in.DB.Flavor, in.DB.Version, in.PHP.Version)
}

func (t Template) dir() string { return filepath.Join(t.Root, TemplatesDir, t.Key) }

// Snapshot is the template's data as a snapshot: what Seed copies.
func (t Template) Snapshot() Snapshot {
	return Snapshot{Layout: Layout{Root: filepath.Join(t.Root, TemplatesDir), Name: t.Key}, Label: TemplateLabel}
}

// ReadTemplate returns the template's description, or an error wrapping fs.ErrNotExist when
// there is none (or only a half-made one).
func ReadTemplate(t Template) (*TemplateInfo, error) {
	data, err := os.ReadFile(filepath.Join(t.dir(), "template.json"))
	if err != nil {
		return nil, fmt.Errorf("read template %s: %w", t.Key, err)
	}
	var info TemplateInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("read template %s: %w", t.Key, err)
	}
	if info.Key != t.Key {
		return nil, fmt.Errorf("read template %s: it says it is %q", t.Key, info.Key)
	}
	return &info, nil
}

// TemplateSecrets are the template's own database passwords (its data directory has them).
func TemplateSecrets(t Template) (Secrets, error) { return SnapshotSecrets(t.Snapshot()) }

// DataEmpty reports whether the instance's data/mysql and data/wordpress hold nothing: a new
// instance, which a template can fill.
func DataEmpty(l Layout) bool {
	for _, d := range []string{l.MySQLDir(), l.WordPressDir()} {
		f, err := os.Open(d)
		if err != nil {
			return false
		}
		names, _ := f.Readdirnames(1)
		f.Close()
		if len(names) > 0 {
			return false
		}
	}
	return true
}

// ScrubTemplateFiles makes the snapshot s a template's: new secrets of its own in its .env
// (returned: the caller gives them to the database), no wp-config.php. The database part is
// the caller's (the reconciler's, with a server running on the copy).
func ScrubTemplateFiles(s Snapshot) (Secrets, error) {
	if err := os.Remove(filepath.Join(s.Dir(), wordpressDir, "wp-config.php")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Secrets{}, fmt.Errorf("scrub template: %w", err)
	}
	l := Layout{Root: filepath.Dir(s.Dir()), Name: s.Label}
	if err := os.Remove(l.SecretsPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Secrets{}, fmt.Errorf("scrub template: %w", err)
	}
	return ensureSecrets(l)
}

var wpVersionRE = regexp.MustCompile(`\$wp_version\s*=\s*'([^']+)'`)

// wordPressVersion is the $wp_version of the core in the document root dir, "" if unknown.
func wordPressVersion(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "wp-includes", "version.php"))
	if err != nil {
		return ""
	}
	if m := wpVersionRE.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// InstallTemplate moves the scrubbed snapshot s (of an instance, complete) into place as the
// template t, described by info, then removes the older templates of the same versions (other
// images). A template of that key already there is replaced.
func InstallTemplate(s Snapshot, t Template, info TemplateInfo) error {
	info.Key = t.Key
	info.WordPress = wordPressVersion(filepath.Join(s.Dir(), wordpressDir))
	tmp := filepath.Join(t.Root, TemplatesDir, ".tmp-"+t.Key)
	ts := Snapshot{Layout: Layout{Root: filepath.Join(t.Root, TemplatesDir), Name: ".tmp-" + t.Key}, Label: TemplateLabel}
	if err := os.MkdirAll(filepath.Join(t.Root, TemplatesDir), 0o700); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	if err := ensureSnapshotDirs(ts.Layout, newDirMaker(ts.Layout.Root)); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	if err := os.Rename(s.Dir(), ts.Dir()); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	if err := os.Rename(s.DBDir(), ts.DBDir()); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(tmp, "template.json"), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	if err := os.RemoveAll(t.dir()); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	if err := os.Rename(tmp, t.dir()); err != nil {
		return fmt.Errorf("install template %s: %w", t.Key, err)
	}
	return removeOlderTemplates(t)
}

// removeOlderTemplates removes the templates of t's versions made with other images.
func removeOlderTemplates(t Template) error {
	entries, err := os.ReadDir(filepath.Join(t.Root, TemplatesDir))
	if err != nil {
		return err
	}
	kind := t.Key[:strings.LastIndex(t.Key[:strings.LastIndex(t.Key, "_")], "_")+1]
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if name != t.Key && (strings.HasPrefix(name, kind) || strings.HasPrefix(name, ".tmp-"+kind)) {
			errs = append(errs, os.RemoveAll(filepath.Join(t.Root, TemplatesDir, name)))
		}
	}
	return errors.Join(errs...)
}

// HasTemplateOf reports whether root holds a template for in's versions, whatever its images.
func HasTemplateOf(root string, in *config.Instance) bool {
	entries, _ := os.ReadDir(filepath.Join(root, TemplatesDir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TemplateKind(in)) {
			return true
		}
	}
	return false
}

// ResetData empties the instance's data/mysql and data/wordpress (a copy that failed),
// keeping the folders and their owners.
func ResetData(l Layout) error {
	for _, d := range []string{l.MySQLDir(), l.WordPressDir()} {
		entries, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("reset data of %q: %w", l.Name, err)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
				return fmt.Errorf("reset data of %q: %w", l.Name, err)
			}
		}
	}
	return nil
}

// TemplateUser reports whether in may start from its kind's template: not a multisite
// network, whose tables and wp-config.php constants a single site's template has not, and
// not a MySQL site, whose kind has none (TemplateMaker).
func TemplateUser(in *config.Instance) bool {
	return in.Multisite == config.MultisiteNone && in.DB.Flavor != config.FlavorMySQL
}

// TemplateMaker reports whether in's install may become its kind's template: a plain site,
// with nothing activated (no plugin, theme or network of the developer's in the copy that
// every later site of the kind starts from), on MariaDB. A MySQL data directory is copied
// cold (no mariadb-backup): taking the template would stop the site's database just after
// it first served. A MariaDB image without mariadb-backup (wp-mariadb:10.5) is found out
// when the template is taken, hot only (reconciler's makeTemplate): it makes none either.
func TemplateMaker(in *config.Instance) bool {
	return TemplateUser(in) && ActivationOf(in).Key == ""
}

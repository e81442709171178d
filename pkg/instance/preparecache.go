package instance

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Preparer is Prepare with a memory. An instance whose declaration and options are the ones
// of its last preparation, and whose every folder and file Prepare looks at is, by lstat,
// the one that preparation left, is not prepared again: the same result is handed back. A
// reconcile pass prepares every declared instance, and with 99 sites that was most of a
// no-op pass (about 30 of 35 ms of CPU on the fake engine): 17 lstats each tell the same.
//
// What it trusts and why. wpinit writes those files by a rename (a new inode) or creates
// them, and a hand edit changes a file's size or times; a removed folder or file, or a link
// put in place of one, changes its lstat. A version of the files is only remembered when
// nothing moved while Prepare ran (the same lstats before and after) and every time in
// them is more than racyWindow old: a file changed twice within one tick of the file
// system's clock could otherwise keep its times (the "racy git" problem).
type Preparer struct {
	mu   sync.Mutex
	last map[string]prepMemo // by folder
	now  func() time.Time    // the clock the racy window is measured on; tests move it
	// prepare is Prepare; tests count its calls.
	prepare func(root string, in *config.Instance, o Options, now time.Time) (*Prepared, error)
}

// racyWindow is how old the newest time among an instance's files must be before their
// lstats are trusted to tell a later change.
const racyWindow = 2 * time.Second

type prepMemo struct {
	decl  string
	files []pathKey
	p     *Prepared
}

// pathKey is one path's lstat as the memory compares it: missing, or its type and
// permission bits and its fileKey.
type pathKey struct {
	missing bool
	mode    os.FileMode
	key     fileKey
}

// NewPreparer is a Preparer that remembers nothing yet.
func NewPreparer() *Preparer {
	return &Preparer{last: map[string]prepMemo{}, now: time.Now, prepare: Prepare}
}

// Prepare is Prepare(root, in, o, now), or the result of the last call for this instance
// when nothing it depends on changed since. The result is the caller's own: changing it
// changes no later result.
func (pr *Preparer) Prepare(root string, in *config.Instance, o Options, now time.Time) (*Prepared, error) {
	l := Layout{Root: root, Name: in.Name}
	decl := fmt.Sprintf("%#v\n%#v", *in, o)
	paths := preparedPaths(l, in)
	before, newest := lstatAll(paths)
	pr.mu.Lock()
	m, ok := pr.last[l.Dir()]
	pr.mu.Unlock()
	if ok && m.decl == decl && slices.Equal(m.files, before) {
		return m.p.clone(), nil
	}
	p, err := pr.prepare(root, in, o, now)
	if err != nil {
		pr.forget(l.Dir())
		return nil, err
	}
	after, _ := lstatAll(paths)
	if !slices.Equal(before, after) || pr.now().Sub(newest) <= racyWindow {
		pr.forget(l.Dir()) // moved meanwhile, or too fresh to tell: prepared again next time
		return p, nil
	}
	pr.mu.Lock()
	pr.last[l.Dir()] = prepMemo{decl: decl, files: after, p: p.clone()}
	pr.mu.Unlock()
	return p, nil
}

// Forget drops what is remembered of the instance folder dir; its next Prepare runs whole.
func (pr *Preparer) Forget(dir string) { pr.forget(dir) }

// Retain forgets every folder but those of dirs: the reconciler keeps the memory to the
// declared instances, so that sites removed over a long run leave nothing behind in it.
func (pr *Preparer) Retain(dirs map[string]bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for dir := range pr.last {
		if !dirs[dir] {
			delete(pr.last, dir)
		}
	}
}

func (pr *Preparer) forget(dir string) {
	pr.mu.Lock()
	delete(pr.last, dir)
	pr.mu.Unlock()
}

// preparedPaths are the folders and files Prepare reads or writes for in.
func preparedPaths(l Layout, in *config.Instance) []string {
	paths := []string{l.Root, l.Dir(), l.path(configDir), l.path(logsDir)}
	for _, c := range []config.Component{in.DB, in.PHP, in.Web} {
		paths = append(paths, l.ConfigDir(c), l.LogDir(c))
	}
	return append(paths,
		l.SnapshotsDir(), l.SnapshotDBDir(), l.path("data"), l.WordPressDir(), l.MySQLDir(),
		l.SecretsPath(), l.InfoPath(), l.ComposePath(),
		l.ConfigFile(RoleDB, in.DB), l.ConfigFile(RoleWeb, in.Web), l.ConfigFile(RolePHP, in.PHP), l.FPMConfigFile(in.PHP))
}

// lstatAll is each path's pathKey and the newest modification or change time among them.
func lstatAll(paths []string) ([]pathKey, time.Time) {
	out := make([]pathKey, len(paths))
	var newest int64
	for i, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			out[i].missing = true
			continue
		}
		out[i].mode = fi.Mode()
		if key, ok := keyOf(fi); ok {
			out[i].key = key
			newest = max(newest, key.mtime, key.ctime)
		} else {
			newest = time.Now().UnixNano() // no times to trust: never remembered
		}
	}
	return out, time.Unix(0, newest)
}

// clone is a copy of p whose Info and Kept are its own (the reconciler records seeds and
// templates in Info; the definition is read only).
func (p *Prepared) clone() *Prepared {
	c := *p
	if p.Info != nil {
		info := p.Info.clone()
		c.Info = &info
	}
	c.Kept = slices.Clone(p.Kept)
	return &c
}

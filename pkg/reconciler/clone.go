package reconciler

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Clones: an instance declared with `from = "SRC"` or `from = "SRC@LABEL"` starts from SRC's
// data (instance/clone.go). Its first convergence seeds it from the snapshot (SRC's LABEL,
// or a fresh one the Reconciler asks of SRC first, as SRC's own job, so that it never
// overlaps SRC's convergence or restore), then personalizes it (personalize: the same step a
// site template's instance takes) and converges it as any other. `from` is read when the
// instance's folder is created only: the folder records it (Info.From) and, once filled, the
// snapshot it came from (Info.Seeded).

// cloneSeed is the fresh snapshot asked of a clone's source; guarded by r.mu.
type cloneSeed struct {
	asked bool
	label string // the snapshot, once taken
}

// cloneSource returns the snapshot a clone to seed starts from, or ok false while a fresh
// one is being taken (it asks for it the first time). On the loop goroutine.
func (r *Reconciler) cloneSource(ctx context.Context, in *config.Instance, p *instance.Prepared) (src, label string, fresh, ok bool) {
	src, label, err := config.ParseFrom(p.Info.From)
	if err != nil {
		r.setFailed(in.Name, fmt.Errorf("created from %q: %w", p.Info.From, err))
		return "", "", false, false
	}
	if label != "" {
		return src, label, false, true
	}
	r.mu.Lock()
	seed := r.clones[in.Name]
	if seed == nil {
		seed = &cloneSeed{}
		r.clones[in.Name] = seed
	}
	asked, label := seed.asked, seed.label
	seed.asked = true
	r.mu.Unlock()
	if label != "" {
		return src, label, true, true
	}
	if !asked {
		r.askSourceSnapshot(ctx, in.Name, src)
	}
	return "", "", false, false
}

// askSourceSnapshot queues a snapshot of src as src's job; its end asks for a pass.
func (r *Reconciler) askSourceSnapshot(ctx context.Context, clone, src string) {
	label := "clone-" + clone + "-" + instance.SnapshotLabel(time.Now())
	j := &job{name: src, what: "snapshot for clone " + clone, done: make(chan error, 1)}
	j.fn = func(ctx context.Context, in config.Instance) (outcome, error) {
		_, err := r.work.snapshot(ctx, in, label)
		r.mu.Lock()
		if seed := r.clones[clone]; seed != nil {
			seed.asked = false
			if err == nil {
				seed.label = label
			}
		}
		r.mu.Unlock()
		if err != nil {
			r.setFailed(clone, fmt.Errorf("snapshot of its source %q: %w", src, err))
		}
		return outcome{}, err
	}
	j.cleanup = func() { r.Trigger("snapshot for clone " + clone) }
	r.acceptJob(ctx, j)
}

// cloneDone forgets a clone's fresh snapshot once the clone is seeded.
func (r *Reconciler) cloneDone(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.clones, name)
}

// cloneTask is the convergence of a clone still to seed: seed, personalize, converge.
func (r *Reconciler) cloneTask(in *config.Instance, p *instance.Prepared, src, label string, fresh bool) func(context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		s := instance.Snapshot{Layout: r.layout(src), Label: label}
		out, err := r.work.cloneFrom(ctx, in, p, s, fresh)
		if !fresh {
			return out, err
		}
		// A fresh snapshot is this clone's only, and its folders move into the clone: once
		// the clone is seeded, or its folders are gone, it goes (a retry asks for another).
		if _, rerr := instance.ReadSnapshot(s); p.Info.Seeded != "" || rerr != nil {
			r.cloneDone(in.Name)
			_ = instance.DropSnapshot(s)
		}
		return out, err
	}
}

// cloneFrom seeds the instance from s and brings it up: its database on the copied data
// directory with its own passwords, PHP with the site personalized, then the web server.
// Whatever containers an earlier attempt left go first: every one is created anew.
func (w *worker) cloneFrom(ctx context.Context, in *config.Instance, p *instance.Prepared, s instance.Snapshot, fresh bool) (outcome, error) {
	m, err := instance.ReadSnapshot(s)
	if err != nil {
		return outcome{}, err
	}
	if m.DB != in.DB.String() {
		return outcome{}, fmt.Errorf("clone %q from %s@%s: the snapshot was %w (%s), %q declares %s: give it the same db and db_version", in.Name, s.Layout.Name, s.Label, ErrSnapshotVersion, m.DB, in.Name, in.DB)
	}
	old, err := instance.SnapshotSecrets(s)
	if err != nil {
		return outcome{}, err
	}
	if err := w.removeContainers(ctx, in.Name); err != nil { // an earlier attempt's
		return outcome{}, err
	}
	start := time.Now()
	if err := instance.Seed(p.Layout, s, fresh); err != nil {
		return outcome{}, err
	}
	w.log.Info("seeded clone", "instance", in.Name, "from", s.Layout.Name+"@"+s.Label, "duration", time.Since(start))
	var grow []string
	if m.Bytes > rewriteMemoryFrom {
		grow = rewriteSettings(in.DB)
	}
	ids, back, err := w.personalize(ctx, in, p, "clone", old, m.URL, nil, grow, nil, nil)
	if err != nil {
		return outcome{}, err
	}
	var running []docker.Container
	for _, role := range []instance.Role{instance.RoleDB, instance.RolePHP} {
		spec := p.Def.Container(role)
		running = append(running, docker.Container{ID: ids[role], Name: spec.Name, Labels: maps.Clone(spec.Labels), State: "running"})
	}
	if err := instance.SetSeeded(p.Layout, s.Layout.Name+"@"+s.Label); err != nil {
		return outcome{}, err
	}
	p.Info.Seeded = s.Layout.Name + "@" + s.Label
	// Its PHP container was just created on php.ini as it is: no reload of PHP-FPM for it.
	if err := instance.SetXdebugRunning(p.Layout, p.XdebugMode); err != nil {
		return outcome{}, err
	}
	p.Info.XdebugRunning = p.XdebugMode
	out, err := w.converge(ctx, in, p, []Action{{Kind: Create, Instance: in.Name, Role: instance.RoleWeb, Reason: "clone"}}, running)
	switch {
	case back == nil:
	case err != nil: // no job follows a failure: now
		back(ctx)
	default:
		// Once the clone serves: a smaller buffer pool and redo log first flush what the
		// rewrite left dirty (2 s for the bench's 1 GiB).
		out.after, out.afterWhat = back, "give the database its own memory back after the URL rewrite"
	}
	return out, err
}

// personalize gives an instance whose data is a copy of another's its own values. Its
// database and PHP containers start at once (PHP needs nothing of the database to start;
// the data directory still has the other's passwords), the database users get the
// instance's own passwords (logged in with old's root password), then wp-dind-personalize
// gives WordPress fresh salts, the instance's URL instead of oldURL across the database and
// its admin password; extra are its further arguments (a template's), grow the database's
// variables it gets more of meanwhile (rewritemem.go), created the containers made already
// (nil: none); onStart, when not nil, is told the two containers' IDs as soon as both have
// started (a template's precompile runs from there). It returns the two containers' IDs
// and, when the database got more, what gives it back its own values, logging a failure (the
// database only keeps more memory until its next start; nil when it got none). The
// step of clones and of sites made from a template (sitetemplates.go); the web server
// starts once it is done.
func (w *worker) personalize(ctx context.Context, in *config.Instance, p *instance.Prepared, reason string, old instance.Secrets, oldURL string, extra, grow []string, created map[instance.Role]string, onStart func(ids map[instance.Role]string)) (map[instance.Role]string, func(context.Context), error) {
	start := time.Now()
	ids, err := w.startCreated(ctx, in, p, reason, created, instance.RoleDB, instance.RolePHP)
	if err != nil {
		return nil, nil, err
	}
	started := time.Since(start)
	if onStart != nil {
		onStart(ids)
	}
	// No wait for the two health checks (each an exec, a round of the engine's): the
	// passwords are set once the server answers, wp-dind-personalize logs in as the site's
	// user (and fails with the reason when it cannot), and it runs PHP's CLI, not PHP-FPM,
	// which the site's first 200 proves later.
	if err := w.setDBPasswords(ctx, ids[instance.RoleDB], old, p.Secrets); err != nil {
		return nil, nil, err
	}
	answered := time.Since(start)
	sql, err := w.growForRewrite(ctx, ids[instance.RoleDB], p.Secrets, grow)
	if err != nil { // the rewrite runs as it is, only slower
		w.log.Warn("failed to give the database more memory for the URL rewrite", "instance", in.Name, "error", err)
	}
	var back func(context.Context)
	if sql != "" {
		back = func(ctx context.Context) {
			if _, err := w.rootSQL(ctx, ids[instance.RoleDB], p.Secrets, sql); err != nil {
				w.log.Warn("failed to give the database its own memory back after the URL rewrite", "instance", in.Name, "error", err)
			}
		}
	}
	rr, err := w.personalizeSite(ctx, in, p, ids[instance.RolePHP], oldURL, extra)
	if err != nil {
		if back != nil {
			back(ctx)
		}
		return nil, nil, err
	}
	w.log.Info("personalized instance", "instance", in.Name, "from_url", oldURL, "url", in.URL(), "rows", rr.Rows, "values", rr.Values,
		"started", started.Round(time.Millisecond), "db_answered", answered.Round(time.Millisecond), "duration", time.Since(start).Round(time.Millisecond))
	return ids, back, nil
}

// passwordSQLCmd logs in as root with the password on the first line of standard input and
// runs the rest of it.
const passwordSQLCmd = `IFS= read -r MYSQL_PWD; export MYSQL_PWD; exec "$(command -v mariadb || command -v mysql)" --user=root --binary-mode`

// setDBPasswords gives the database users of a copied data directory the instance's
// passwords, once the server answers (logged in with the copy's own root password).
func (w *worker) setDBPasswords(ctx context.Context, id string, old, own instance.Secrets) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Healthy)
	defer cancel()
	for {
		_, err := w.rootSQL(ctx, id, old, passwordSQL(own))
		if err == nil {
			return nil
		}
		if serr := sleep(ctx, newSitePoll); serr != nil { // the server starts in about a second
			return fmt.Errorf("set the database passwords: %w (last try: %v)", serr, err)
		}
	}
}

// passwordSQL gives the database users the passwords of own.
func passwordSQL(own instance.Secrets) string {
	q := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	return "ALTER USER 'root'@'localhost' IDENTIFIED BY " + q(own.DBRootPassword) + ";\n" +
		"ALTER USER 'root'@'%' IDENTIFIED BY " + q(own.DBRootPassword) + ";\n" +
		"ALTER USER " + q(instance.DBUser) + "@'%' IDENTIFIED BY " + q(own.DBPassword) + ";\nFLUSH PRIVILEGES;\n"
}

// personalizeSite runs wp-dind-personalize in the PHP container, the admin password on its
// standard input; extra are further arguments (a template's --rename-admin and --title).
func (w *worker) personalizeSite(ctx context.Context, in *config.Instance, p *instance.Prepared, phpID, oldURL string, extra []string) (*ReplaceResult, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Install)
	defer cancel()
	pw := p.Secrets.AdminPassword
	var out strings.Builder
	res, err := w.eng.ExecStream(ctx, phpID, docker.ExecIO{
		User: "www-data",
		Cmd: append([]string{"wp-dind-personalize", "--old-url", oldURL, "--new-url", in.URL(), "--admin-user", in.AdminUser,
			"--admin-email", in.AdminEmail, "--admin-password-stdin"}, extra...),
		Stdin: strings.NewReader(pw + "\n"), Stdout: &out, MaxOutput: installOutputLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("personalize: %w", err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("personalize: wp-dind-personalize exit %d: %s", res.ExitCode, strings.ReplaceAll(lastLine(res.Output), pw, "[redacted]"))
	}
	return decodeReplace(out.String())
}

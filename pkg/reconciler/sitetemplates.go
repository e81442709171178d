package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Site templates (instance/sitetemplate.go): a new site (no container, empty data folders)
// of a kind that has a template starts from a copy of it and is personalized, as a clone is;
// one of a kind that has none is installed as before, and once it serves, a job on it takes
// the template. While that first site installs and its template is made, the other new sites
// of its kind wait: they start from the template a few seconds later instead of each running
// the installer. A copy that fails falls back to the full install (logged); a template that
// cannot be made lets the sites of its kind install themselves until wpinit restarts.

// kindState is the Reconciler's knowledge of one kind's template (instance.TemplateKind);
// guarded by r.mu.
type kindState struct {
	first    string // the new site installing itself, whose template the kind waits for
	building bool   // its template is being made
	failed   bool   // making it failed: the kind's sites install themselves
}

// newSite decides how a new site of in's kind starts, on the loop goroutine: wait (ok
// false), or the task's function.
func (r *Reconciler) newSite(in *config.Instance, p *instance.Prepared, acts []Action) (fn func(context.Context) (outcome, error), ok bool) {
	if !instance.TemplateUser(in) {
		return func(ctx context.Context) (outcome, error) { return r.work.converge(ctx, in, p, acts, nil) }, true
	}
	kind, has := instance.TemplateKind(in), instance.HasTemplateOf(r.opt.Root, in)
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.kinds[kind]
	if ks == nil {
		ks = &kindState{}
		r.kinds[kind] = ks
	}
	switch {
	case ks.failed || has:
	case ks.building || ks.first != "" && ks.first != in.Name:
		return nil, false
	case !instance.TemplateMaker(in): // installs itself, and makes no template
	default:
		ks.first = in.Name
	}
	return func(ctx context.Context) (outcome, error) { return r.work.newSite(ctx, in, p, acts) }, true
}

// siteDone is told of every convergence's end, on the loop goroutine: the first new site of
// a kind that serves without a template for its images gets the job that makes it.
func (r *Reconciler) siteDone(ctx context.Context, name string, out outcome, err error) {
	r.mu.Lock()
	for _, ks := range r.kinds {
		if ks.first == name {
			ks.first = ""
		}
	}
	kind := r.kinds[out.kind]
	start := err == nil && out.template.Key != "" && kind != nil && !kind.building
	if start {
		kind.building = true
	}
	r.mu.Unlock()
	if err == nil && out.after != nil {
		r.afterJob(ctx, name, out) // acceptJob takes r.mu
	}
	if !start {
		return
	}
	t := out.template
	j := &job{name: name, what: "site template", done: make(chan error, 1)}
	j.fn = func(ctx context.Context, in config.Instance) (outcome, error) {
		err := r.work.makeTemplate(ctx, in, t)
		r.mu.Lock()
		kind.failed = err != nil
		r.mu.Unlock()
		switch {
		case errors.Is(err, errNoHotBackup):
			r.log.Info("no mariadb-backup in the database image, so no site template: new sites of its kind install themselves", "instance", name, "template", t.Key)
		case err != nil:
			r.log.Error("failed to make site template: new sites of its kind install themselves", "instance", name, "template", t.Key, "error", err)
		}
		return outcome{}, nil // the instance serves: its state is not the template's
	}
	j.cleanup = func() {
		r.mu.Lock()
		kind.building = false
		r.mu.Unlock()
		r.Trigger("site template " + t.Key)
	}
	r.acceptJob(ctx, j)
}

// afterJob queues out.after as the instance's job (it logs its own failure: the instance
// serves).
func (r *Reconciler) afterJob(ctx context.Context, name string, out outcome) {
	j := &job{name: name, what: out.afterWhat, done: make(chan error, 1)}
	j.fn = func(ctx context.Context, in config.Instance) (outcome, error) {
		out.after(ctx)
		return outcome{}, nil
	}
	r.acceptJob(ctx, j)
}

// newSite brings up a new site: from its kind's template when there is one for its images,
// else (or when the copy fails) through the full install; then out.template names the
// template to make from it.
func (w *worker) newSite(ctx context.Context, in *config.Instance, p *instance.Prepared, acts []Action) (outcome, error) {
	if p.TemplateUnfinished() {
		w.log.Info("an earlier start from a site template was cut off: starting again", "instance", in.Name, "template", p.Info.Templated)
		if err := w.untemplate(ctx, in, p); err != nil {
			return outcome{}, err
		}
	}
	t, err := w.templateFor(ctx, in)
	if err != nil {
		w.log.Error("failed to find site template, installing", "instance", in.Name, "error", err)
		return w.converge(ctx, in, p, acts, nil)
	}
	info, err := instance.ReadTemplate(t)
	if err == nil {
		out, err := w.fromTemplate(ctx, in, p, t, info)
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		w.log.Error("failed to start from site template, installing", "instance", in.Name, "template", t.Key, "error", err)
		if err := w.untemplate(ctx, in, p); err != nil {
			return outcome{}, err
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		w.log.Info("no site template for its images, installing", "instance", in.Name, "template", t.Key)
	} else {
		w.log.Error("failed to read site template, installing", "instance", in.Name, "template", t.Key, "error", err)
	}
	out, err := w.converge(ctx, in, p, acts, nil)
	if instance.TemplateMaker(in) {
		out.template, out.kind = t, instance.TemplateKind(in)
	}
	return out, err
}

// templateFor is the template of in's kind and images.
func (w *worker) templateFor(ctx context.Context, in *config.Instance) (instance.Template, error) {
	ids, err := w.eng.ImageIDs(ctx)
	if err != nil {
		return instance.Template{}, err
	}
	db, php := w.opt.instance.Images.Ref(in.DB), w.opt.instance.Images.Ref(in.PHP)
	if ids[db] == "" || ids[php] == "" {
		return instance.Template{}, fmt.Errorf("images %s and %s: not both loaded", db, php)
	}
	return instance.Template{Root: w.opt.root, Key: instance.TemplateKey(in, ids[db], ids[php])}, nil
}

// fromTemplate seeds the site from the template and personalizes it as a clone is (the
// template's administrator renamed to the site's): its database and PHP first, its web
// server once it is personalized.
func (w *worker) fromTemplate(ctx context.Context, in *config.Instance, p *instance.Prepared, t instance.Template, info *instance.TemplateInfo) (outcome, error) {
	old, err := instance.TemplateSecrets(t)
	if err != nil {
		return outcome{}, err
	}
	start := time.Now()
	if err := instance.SetTemplated(p.Layout, t.Key); err != nil { // before the copy: a cut shows
		return outcome{}, err
	}
	p.Info.Templated = t.Key
	// The three containers are created while the template is copied (a create is a round of
	// the engine's, and the seed replaces the folders they mount in one step). The web
	// server starts only once the site is personalized: before, WordPress would answer its
	// port with the template's title and administrator (urls.php serves any known host).
	roles := []instance.Role{instance.RoleDB, instance.RolePHP, instance.RoleWeb}
	created, createErr := make([]string, len(roles)), make([]error, len(roles))
	var wg sync.WaitGroup
	wg.Go(func() {
		acts := make([]Action, 0, len(roles))
		for _, role := range roles {
			acts = append(acts, Action{Kind: Create, Instance: in.Name, Role: role, Reason: "template"})
		}
		if createErr[0] = w.ensureImages(ctx, in, p, acts); createErr[0] != nil {
			return
		}
		var each sync.WaitGroup
		for i, role := range roles {
			each.Go(func() { created[i], createErr[i] = w.createRole(ctx, in, p, "template", role) })
		}
		each.Wait()
	})
	// A copy: the template serves every later site of its kind.
	seedErr := instance.Seed(p.Layout, t.Snapshot(), false)
	seeded := time.Since(start)
	wg.Wait()
	if err := errors.Join(append(createErr, seedErr)...); err != nil { // untemplate removes what was created
		return outcome{}, err
	}
	w.log.Info("seeded site from template", "instance", in.Name, "template", t.Key, "duration", seeded, "created", time.Since(start))
	// The template's scripts are compiled into the new PHP-FPM's opcache while its database
	// starts and it is personalized (opcache.go).
	var pre precompiled
	var compiling sync.WaitGroup
	pctx, stopCompiling := context.WithCancel(ctx)
	defer stopCompiling()
	onStart := func(ids map[instance.Role]string) {
		if len(info.Scripts) > 0 {
			compiling.Go(func() { pre = w.precompile(pctx, in, ids[instance.RolePHP], info.Scripts) })
		}
	}
	ids, _, err := w.personalize(ctx, in, p, "template", old, info.URL, []string{"--rename-admin", info.AdminUser, "--title", in.Title}, nil,
		map[instance.Role]string{instance.RoleDB: created[0], instance.RolePHP: created[1]}, onStart)
	if err != nil {
		stopCompiling()
		compiling.Wait()
		return outcome{}, err
	}
	webID := created[2]
	if err := instance.SetSeeded(p.Layout, "template "+t.Key); err != nil {
		return outcome{}, err
	}
	p.Info.Seeded = "template " + t.Key
	webStart := time.Now()
	var warmed sync.WaitGroup // PHP-FPM's first request runs while the web server starts
	var warmTook time.Duration
	warmed.Go(func() {
		compiling.Wait()
		if pre.err != nil {
			w.log.Warn("failed to compile the template's scripts into the opcache", "instance", in.Name, "error", pre.err)
		}
		warmTook = w.warmPHP(ctx, in, ids[instance.RolePHP])
	})
	err = w.eng.StartContainer(ctx, webID)
	webStarted := time.Since(webStart)
	warmed.Wait()
	if err != nil {
		return outcome{}, fmt.Errorf("start %s: %w", p.Def.Container(instance.RoleWeb).Name, err)
	}
	// No wait for the web server's health check: the site's first 200 below comes through it.
	out := outcome{xdebug: p.XdebugMode} // the new PHP-FPM read php.ini as it is
	if p.ActivationPending(in) {         // the developer's plugins and theme, as after an install
		a, err := w.activate(ctx, in, p, ids[instance.RolePHP])
		if err != nil {
			return outcome{}, err
		}
		out.activated = &a
	}
	out.probe, err = w.waitSiteEvery(ctx, in, newSitePoll)
	if err == nil {
		w.log.Info("site from template serves", "instance", in.Name, "web_started", webStarted.Round(time.Millisecond),
			"web_to_serving", time.Since(webStart).Round(time.Millisecond), "warm_php", warmTook.Round(time.Millisecond),
			"precompiled", pre.compiled, "of", pre.listed,
			"precompile", pre.took.Round(time.Millisecond), "duration", time.Since(start).Round(time.Millisecond))
	}
	return out, err
}

// warmPHP asks the site's new PHP-FPM for its front page once, from inside the PHP container
// (cgi-fcgi, the client of the image's health check; PHP-FPM answers 127.0.0.1), and drops
// the answer: the first request of a PHP-FPM compiles every script it runs that is not in its
// opcache yet (all of them, 0.6 s here, without the template's precompiled core scripts),
// and the first requests that come while nothing is compiled yet, the probe's and a user's,
// each compile all of it. It runs once the site is personalized and the precompile is done,
// while the web server starts; a failure only costs that time, and goes to the debug log.
// It returns how long it took (on the log line of the site serving).
func (w *worker) warmPHP(ctx context.Context, in *config.Instance, phpID string) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	if _, _, err := w.fcgi(ctx, in, phpID, instance.DocRoot+"/index.php", http.MethodGet, nil, 64<<20, false); err != nil {
		w.log.Debug("failed to warm PHP-FPM's opcache", "instance", in.Name, "error", err)
	}
	return time.Since(start)
}

// newSitePoll is how often a site made from a template (or a clone) asks its copied
// database and its front page: it is up within seconds, and half an interval lost at each of its
// waits counts in the time to a new site's first 200 (a wake asks as often: wakePoll).
const newSitePoll = 100 * time.Millisecond

// startRoles creates and starts the instance's containers of roles without waiting for any;
// reason is the actions' (the log's).
func (w *worker) startRoles(ctx context.Context, in *config.Instance, p *instance.Prepared, reason string, roles ...instance.Role) (map[instance.Role]string, error) {
	acts := make([]Action, 0, len(roles))
	for _, role := range roles {
		acts = append(acts, Action{Kind: Create, Instance: in.Name, Role: role, Reason: reason})
	}
	if err := w.ensureImages(ctx, in, p, acts); err != nil {
		return nil, err
	}
	// Side by side: each create and start is a round of the engine's (0.5 to 1.5 s each on
	// a busy machine), and neither container needs the other to start.
	got := make([]string, len(roles))
	errs := make([]error, len(roles))
	var wg sync.WaitGroup
	for i, role := range roles {
		wg.Go(func() {
			got[i], errs[i] = w.applyRole(ctx, w.log.With("instance", in.Name), p, *p.Def.Container(role), acts, nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ids := map[instance.Role]string{}
	for i, role := range roles {
		ids[role] = got[i]
	}
	return ids, nil
}

// startCreated starts the instance's containers of roles that created holds (their IDs)
// and creates and starts the others (startRoles), side by side.
func (w *worker) startCreated(ctx context.Context, in *config.Instance, p *instance.Prepared, reason string, created map[instance.Role]string, roles ...instance.Role) (map[instance.Role]string, error) {
	var missing []instance.Role
	for _, role := range roles {
		if created[role] == "" {
			missing = append(missing, role)
		}
	}
	ids := map[instance.Role]string{}
	var startErr error
	var wg sync.WaitGroup
	if len(missing) > 0 {
		wg.Go(func() { ids, startErr = w.startRoles(ctx, in, p, reason, missing...) })
	}
	errs := make([]error, len(roles))
	for i, role := range roles {
		if id := created[role]; id != "" {
			wg.Go(func() {
				if err := w.eng.StartContainer(ctx, id); err != nil {
					errs[i] = fmt.Errorf("start %s: %w", p.Def.Container(role).Name, err)
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(append(errs, startErr)...); err != nil {
		return nil, err
	}
	if ids == nil {
		ids = map[instance.Role]string{}
	}
	for _, role := range roles {
		if id := created[role]; id != "" {
			ids[role] = id
		}
	}
	return ids, nil
}

// createRole creates (does not start) the instance's container of role, whose image is
// there (ensureImages); reason is the action's (the log's).
func (w *worker) createRole(ctx context.Context, in *config.Instance, p *instance.Prepared, reason string, role instance.Role) (string, error) {
	spec := p.Def.Container(role)
	w.log.Info("converging container", "instance", in.Name, "container", spec.Name, "action", Create, "reason", reason)
	id, err := w.eng.CreateContainer(ctx, w.containerConfig(p, *spec))
	if err != nil {
		if id != "" {
			_ = w.eng.RemoveContainer(context.WithoutCancel(ctx), id)
		}
		return "", err
	}
	return id, nil
}

// untemplate undoes a start from a template: the containers and the copied data go, and the
// folder no longer says it is being filled from one.
func (w *worker) untemplate(ctx context.Context, in *config.Instance, p *instance.Prepared) error {
	if err := w.removeContainers(ctx, in.Name); err != nil {
		return err
	}
	if err := instance.ResetData(p.Layout); err != nil {
		return err
	}
	if err := instance.SetTemplated(p.Layout, ""); err != nil {
		return err
	}
	p.Info.Templated = ""
	return nil
}

// makeTemplate takes the template t from the instance, which serves and was just installed: a
// hot snapshot of it (instance label "template"), scrubbed of its secrets (scrubTemplateDB),
// moved into place. A database image without mariadb-backup makes none (errNoHotBackup): a
// cold copy would stop the site's database just after it first served, and its die would
// send the site back to converging once the job ended.
func (w *worker) makeTemplate(ctx context.Context, in config.Instance, t instance.Template) error {
	start := time.Now()
	s := instance.Snapshot{Layout: w.layout(in.Name), Label: instance.TemplateLabel}
	_ = instance.RemoveSnapshot(s) // one an interrupted attempt completed
	if _, err := w.hotSnapshot(ctx, in, s.Label); err != nil {
		return err
	}
	err := w.scrubTemplate(ctx, in, s, t)
	if err != nil {
		_ = instance.RemoveSnapshot(s)
		return err
	}
	w.log.Info("made site template", "instance", in.Name, "template", t.Key, "duration", time.Since(start))
	return nil
}

// scrubTemplate gives the snapshot the template's own secrets and installs it.
func (w *worker) scrubTemplate(ctx context.Context, in config.Instance, s instance.Snapshot, t instance.Template) error {
	own, err := instance.ScrubTemplateFiles(s)
	if err != nil {
		return err
	}
	db, err := w.runningContainer(ctx, in.Name, instance.RoleDB)
	if err != nil {
		return err
	}
	if db == nil {
		return fmt.Errorf("scrub template: the database container of %q is not running", in.Name)
	}
	if err := w.scrubTemplateDB(ctx, db.ID, s, own); err != nil {
		return err
	}
	ids, err := w.eng.ImageIDs(ctx)
	if err != nil {
		return err
	}
	return instance.InstallTemplate(s, t, instance.TemplateInfo{
		From: in.Name, Created: time.Now().UTC(), AdminUser: in.AdminUser, URL: in.URL(),
		DBImage: ids[w.opt.instance.Images.Ref(in.DB)], PHPImage: ids[w.opt.instance.Images.Ref(in.PHP)],
		Scripts: w.templateScripts(ctx, &in),
	})
}

// templateScripts are the core scripts the template's site's opcache holds (its front page
// served), for the sites made from it; none when they cannot be read (logged): those sites
// compile them at their first request.
func (w *worker) templateScripts(ctx context.Context, in *config.Instance) []string {
	php, err := w.runningContainer(ctx, in.Name, instance.RolePHP)
	if err == nil && php == nil {
		err = fmt.Errorf("the PHP container of %q is not running", in.Name)
	}
	var scripts []string
	if err == nil {
		scripts, err = w.opcacheScripts(ctx, in, php.ID)
	}
	if err != nil {
		w.log.Warn("failed to record the template's opcache scripts", "instance", in.Name, "error", err)
	}
	return scripts
}

// scrubTemplateCmd starts a second server in the database container, on the snapshot's data
// directory ($1, no network, its own socket), logged in as root with the instance's password
// (the copy has it); runs the SQL on standard input and stops the server.
const scrubTemplateCmd = dbAuth + `d=$1 sock=/tmp/wp-dind-template.sock log=/tmp/wp-dind-template.err
srv=$(command -v mariadbd || command -v mysqld) cli=$(command -v mariadb || command -v mysql)
rm -f "$sock" "$log"
"$srv" --datadir="$d" --socket="$sock" --pid-file=/tmp/wp-dind-template.pid --log-error="$log" \
  --skip-networking --loose-mysqlx=OFF --skip-log-bin --slow-query-log=0 --innodb-buffer-pool-size=16M &
pid=$! i=0
until "$cli" --user=root --socket="$sock" -e 'SELECT 1' >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null && [ "$i" -lt 240 ] || { kill "$pid" 2>/dev/null; tail -n 3 "$log" >&2; exit 1; }
  i=$((i+1)); sleep 0.25
done
"$cli" --user=root --socket="$sock" --binary-mode; rc=$?
kill -TERM "$pid"; wait "$pid"
exit $rc`

// scrubTemplateDB gives the copy's database users the template's passwords, makes every
// WordPress password unusable and ends every session: nothing of the instance's stays.
func (w *worker) scrubTemplateDB(ctx context.Context, dbID string, s instance.Snapshot, own instance.Secrets) error {
	unusable, err := instance.NewPassword(48)
	if err != nil {
		return err
	}
	sql := passwordSQL(own) +
		"UPDATE `" + instance.DBName + "`.`wp_users` SET user_pass = '*" + unusable + "';\n" +
		"DELETE FROM `" + instance.DBName + "`.`wp_usermeta` WHERE meta_key = 'session_tokens';\n"
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Healthy)
	defer cancel()
	res, err := w.eng.ExecStream(ctx, dbID, docker.ExecIO{User: "mysql",
		Cmd: []string{"sh", "-c", scrubTemplateCmd, "sh", instance.SnapshotMount + "/" + s.Label}, Stdin: strings.NewReader(sql)})
	if err != nil {
		return fmt.Errorf("scrub template database: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("scrub template database: exit %d: %s", res.ExitCode, lastLine(res.Output))
	}
	return nil
}

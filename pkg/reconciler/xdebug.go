package reconciler

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// XdebugResult is the outcome of `ctl xdebug NAME on|off`.
type XdebugResult struct {
	Instance    string `json:"instance"`
	Mode        string `json:"mode"`     // xdebug.mode in php.ini now
	Changed     bool   `json:"changed"`  // php.ini was switched (false: it had that mode)
	Reloaded    bool   `json:"reloaded"` // PHP-FPM reloaded and answers with the mode
	ContainerID string `json:"container_id,omitempty"`
}

// Xdebug switches Xdebug on (xdebug.mode = debug) or off in the instance's php.ini and
// reloads its PHP-FPM gracefully (USR2): no container is recreated. It returns once PHP-FPM
// answers a FastCGI request with the new mode. A stopped PHP container is not started: it
// reads the file when it starts. The choice holds until instances.toml's `xdebug` changes.
func (r *Reconciler) Xdebug(ctx context.Context, name string, on bool) (*XdebugResult, error) {
	res := &XdebugResult{Instance: name, Mode: instance.XdebugMode(on)}
	err := r.runJob(ctx, &job{name: name, what: "xdebug", hold: true, fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		return r.work.switchXdebug(ctx, in, res)
	}})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (w *worker) switchXdebug(ctx context.Context, in config.Instance, res *XdebugResult) (outcome, error) {
	l := w.layout(in.Name)
	changed, err := instance.SetXdebug(l, in.PHP, res.Mode)
	if err != nil {
		return outcome{}, err
	}
	res.Changed = changed
	php, err := w.runningContainer(ctx, in.Name, instance.RolePHP)
	if err != nil || php == nil {
		return outcome{}, err
	}
	res.ContainerID = php.ID
	if err := w.reloadPHP(ctx, php.ID, res.Mode); err != nil {
		return outcome{}, err
	}
	res.Reloaded = true
	w.log.Info("switched xdebug", "instance", in.Name, "mode", res.Mode)
	return outcome{xdebug: res.Mode}, nil
}

// reloadRunningPHP reloads the instance's PHP container of the current definition.
func (w *worker) reloadRunningPHP(ctx context.Context, name string, p *instance.Prepared, current []docker.Container) error {
	spec := p.Def.Container(instance.RolePHP)
	for _, c := range current {
		if c.Labels[docker.LabelRole] == string(instance.RolePHP) && c.Labels[docker.LabelHash] == spec.Hash && c.Running() {
			w.log.Info("reloading php-fpm for xdebug", "instance", name, "mode", p.XdebugMode)
			return w.reloadPHP(ctx, c.ID, p.XdebugMode)
		}
	}
	return fmt.Errorf("reload php-fpm of %q: no running PHP container", name)
}

// reloadPHP sends USR2 to PHP-FPM (a graceful reload that re-reads php.ini) and waits until
// a FastCGI request is answered with mode.
func (w *worker) reloadPHP(ctx context.Context, id, mode string) error {
	if err := w.eng.SignalContainer(ctx, id, "SIGUSR2"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Healthy)
	defer cancel()
	var last string
	for {
		got, err := w.fpmXdebugMode(ctx, id)
		if err == nil && got == mode {
			return nil
		}
		last = got
		if err != nil {
			last = err.Error()
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("reload php-fpm: %w (last answer: %s)", err, last)
		}
	}
}

// fpmScript asks PHP-FPM itself, over FastCGI on 127.0.0.1:9000 inside the PHP container
// (cgi-fcgi, the image's health check tool), for its xdebug.mode: the CLI would read
// php.ini afresh and prove nothing about the running FPM.
const fpmScript = `f=$(mktemp --suffix=.php) || exit 1
chmod 0644 "$f"
echo '<?php echo "xdebug.mode=[", ini_get("xdebug.mode"), "]";' >"$f"
SCRIPT_FILENAME=$f SCRIPT_NAME=/wp-dind-xdebug.php REQUEST_METHOD=GET QUERY_STRING= timeout 5 cgi-fcgi -bind -connect 127.0.0.1:9000
rc=$?
rm -f "$f"
exit $rc`

var fpmModeRE = regexp.MustCompile(`xdebug\.mode=\[([^\]]*)\]`)

func (w *worker) fpmXdebugMode(ctx context.Context, id string) (string, error) {
	ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := w.eng.Exec(ectx, id, "", []string{"sh", "-c", fpmScript})
	if err != nil {
		return "", err
	}
	m := fpmModeRE.FindStringSubmatch(res.Output)
	if res.ExitCode != 0 || m == nil {
		return "", fmt.Errorf("ask php-fpm for xdebug.mode: exit %d: %s", res.ExitCode, lastLine(res.Output))
	}
	if m[1] == "" {
		return instance.XdebugOff, nil
	}
	return m[1], nil
}

// runningContainer finds the instance's running container of role: one list call. It
// returns nil, nil when there is none.
func (w *worker) runningContainer(ctx context.Context, name string, role instance.Role) (*docker.Container, error) {
	cs, err := w.eng.ListContainers(ctx, w.opt.owner)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Labels[docker.LabelInstance] == name && c.Labels[docker.LabelRole] == string(role) && c.Running() {
			return &c, nil
		}
	}
	return nil, nil
}

// hasRole reports whether acts (re)start role's container: its new process reads the
// config files as they are.
func hasRole(acts []Action, role instance.Role) bool {
	for _, a := range acts {
		if a.Role == role && a.Kind != Remove {
			return true
		}
	}
	return false
}

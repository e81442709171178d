package reconciler

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// errActivated makes apply wait for the site again once wp-dind-activate changed it.
var errActivated = errors.New("activated: the site is asked again")

// activate runs the PHP image's wp-dind-activate as www-data: the instance's multisite
// network, plugins and first theme, as instances.toml declares them (instance.Activation).
// It runs the site's own PHP (the plugins' activation hooks): its output goes to the log as
// it comes, within installOutputLimit, and it has the install's time.
func (w *worker) activate(ctx context.Context, in *config.Instance, p *instance.Prepared, phpID string) (instance.Activation, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.timeouts.Install)
	defer cancel()
	cmd := p.ActivateCommand(in)
	log := w.log.With("instance", in.Name, "command", "wp-dind-activate")
	stdout := &outputLog{log: log, stream: "stdout"}
	stderr := &outputLog{log: log, stream: "stderr"}
	res, err := w.eng.ExecStream(ctx, phpID, docker.ExecIO{
		User: "www-data", Cmd: cmd, Stdout: stdout, Stderr: stderr, MaxOutput: installOutputLimit,
	})
	stdout.Flush()
	stderr.Flush()
	if err != nil {
		return instance.Activation{}, fmt.Errorf("activate %s: %w", strings.Join(cmd[3:], " "), err)
	}
	if res.ExitCode != 0 {
		return instance.Activation{}, fmt.Errorf("activate: wp-dind-activate exit %d: %s", res.ExitCode, lastLine(res.Output))
	}
	return instance.ActivationOf(in), nil
}

// codeTrees are the instance's mounted code a backup holds: none unless backup_mounts.
func codeTrees(in *config.Instance) []backup.Tree {
	if !in.BackupCode {
		return nil
	}
	var out []backup.Tree
	for _, c := range in.Code {
		out = append(out, backup.Tree{Source: c.Path, Name: path.Join(instance.PartWordPress, c.Target)})
	}
	return out
}

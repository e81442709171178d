package reconciler

import (
	"context"
	"fmt"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// RestartResult is the outcome of `ctl restart-instance NAME` (and the dashboard's restart).
type RestartResult struct {
	Instance   string        `json:"instance"`
	Containers []string      `json:"containers"` // names, in the order they were started
	Duration   time.Duration `json:"duration"`
}

// Restart stops the instance's containers (web, PHP, then database) and starts them again
// (database, PHP, then web), each healthy before the next, then waits for the site. The
// containers are kept: nothing is recreated. It runs as a job, so it never overlaps a
// convergence of the instance, and its outcome is the instance's state.
func (r *Reconciler) Restart(ctx context.Context, name string) (*RestartResult, error) {
	res := &RestartResult{Instance: name}
	err := r.runJob(ctx, &job{name: name, what: "restart", state: true, fn: func(ctx context.Context, in config.Instance) (outcome, error) {
		return r.work.restart(ctx, &in, res)
	}})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (w *worker) restart(ctx context.Context, in *config.Instance, res *RestartResult) (outcome, error) {
	start := time.Now()
	all, err := w.eng.ListContainers(ctx, w.opt.owner)
	if err != nil {
		return outcome{}, err
	}
	var list []docker.Container
	for _, c := range all {
		if c.Labels[docker.LabelInstance] == in.Name {
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		return outcome{}, fmt.Errorf("restart %q: it has no containers yet", in.Name)
	}
	if err := w.stopInstance(ctx, in.Name, list); err != nil {
		return outcome{}, fmt.Errorf("restart %q: %w", in.Name, err)
	}
	for _, role := range instance.Roles {
		for _, c := range list {
			if c.Labels[docker.LabelRole] != string(role) {
				continue
			}
			if err := w.eng.StartContainer(ctx, c.ID); err != nil {
				return outcome{}, fmt.Errorf("restart %q: %w", in.Name, err)
			}
			if err := w.waitHealthy(ctx, c.ID, instance.ContainerSpec{Name: c.Name}); err != nil {
				return outcome{}, fmt.Errorf("restart %q: %w", in.Name, err)
			}
			res.Containers = append(res.Containers, c.Name)
		}
	}
	lat, err := w.waitSite(ctx, in)
	if err != nil {
		return outcome{}, fmt.Errorf("restart %q: %w", in.Name, err)
	}
	res.Duration = time.Since(start)
	w.log.Info("restarted instance", "instance", in.Name, "containers", len(res.Containers), "duration", res.Duration)
	return outcome{probe: lat}, nil
}

// Backups lists the archives of the backups folder: name's, or every instance's with "".
// A removed instance's archives stay listed: they are the way back.
func (r *Reconciler) Backups(name string) ([]backup.Archive, error) {
	return backup.List(backup.Dir(r.opt.Root), name)
}

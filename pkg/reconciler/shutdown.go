package reconciler

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// stopOrder is the order an instance's containers stop in: the web server first (no new
// requests), then PHP-FPM (requests in flight finish), then the database, last, with its
// 30 s for a clean InnoDB shutdown.
var stopOrder = []instance.Role{instance.RoleWeb, instance.RolePHP, instance.RoleDB}

// stopAll is StopAll: one list call, then every instance's stop in its own goroutine. It
// runs beside the tasks (on demand) or after them (Run's end), and reads no task state.
func (w *worker) stopAll(ctx context.Context) error {
	start := time.Now()
	cs, err := w.eng.ListContainers(ctx, w.opt.owner)
	if err != nil {
		return err
	}
	byInstance := map[string][]docker.Container{}
	for _, c := range cs {
		if c.Running() {
			byInstance[c.Labels[docker.LabelInstance]] = append(byInstance[c.Labels[docker.LabelInstance]], c)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(byInstance))
	for name, list := range byInstance {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.stopInstance(ctx, name, list)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	err = errors.Join(all...)
	w.log.Info("stopped instances", "instances", len(byInstance), "duration", time.Since(start), "error", err)
	return err
}

// stopInstance stops one instance's containers in stopOrder. A failure does not stop the
// rest: the database still gets its clean shutdown when the web server would not stop.
func (w *worker) stopInstance(ctx context.Context, name string, list []docker.Container) error {
	var errs []error
	for _, role := range stopOrder {
		for _, c := range list {
			if c.Labels[docker.LabelRole] != string(role) {
				continue
			}
			if err := w.eng.StopContainer(ctx, c.ID, instance.StopTimeout(role)); err != nil {
				errs = append(errs, err)
				continue
			}
			w.log.Debug("stopped container", "instance", name, "container", c.Name)
		}
	}
	return errors.Join(errs...)
}

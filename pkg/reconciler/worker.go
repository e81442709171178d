package reconciler

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// worker does the work on one instance: converge, remove, back up, restore, switch Xdebug,
// stop (nomad's containerReconciler). It holds only its collaborators: the engine calls
// that work needs, the options it reads, a logger and the site probe. It keeps no state
// between calls and takes no lock of the Reconciler's: each call runs in the instance's
// task goroutine (StopAll aside) and reports through its return values, or through the
// callback the task hands it.
type worker struct {
	eng   docker.InstanceEngine
	opt   workerOptions
	log   hclog.Logger
	probe func(ctx context.Context, url, host string) error
}

// workerOptions are the Options a worker reads.
type workerOptions struct {
	root         string
	owner        string
	probeAddress string
	timeouts     Timeouts
	instance     instance.Options // what instance.Prepare needs: a restore prepares the instance again
}

// outcome is what a worker reports besides its error.
type outcome struct {
	xdebug    string               // the Xdebug mode PHP-FPM now runs with, to record in .instance-info
	probe     time.Duration        // how long the site's last successful probe took; 0: none
	activated *instance.Activation // what wp-dind-activate applied, to record in .instance-info
	// A new site installed without a template for its images (sitetemplates.go): the
	// template to make from it, and its kind.
	template instance.Template
	kind     string
	// after is work for the instance's next job, once it serves (a clone's database gives
	// back the memory of its URL rewrite: rewritemem.go), which logs its own failure;
	// afterWhat names it.
	after     func(context.Context)
	afterWhat string
}

func newWorker(eng docker.InstanceEngine, o *Options) *worker {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &worker{
		eng: eng, log: o.Logger,
		opt: workerOptions{
			root: o.Root, owner: o.Owner, probeAddress: o.ProbeAddress, timeouts: o.Timeouts, instance: o.instanceOptions(),
		},
		probe: func(ctx context.Context, url, host string) error { return probeWordPress(ctx, client, url, host) },
	}
}

// instanceOptions are the machine-wide choices passed to pkg/instance.
func (o *Options) instanceOptions() instance.Options {
	return instance.Options{
		Owner: o.Owner, BindAddress: o.BindAddress, Network: o.Network, BlockExternalHTTP: o.BlockExternalHTTP, Images: o.Images,
	}
}

func (w *worker) layout(name string) instance.Layout {
	return instance.Layout{Root: w.opt.root, Name: name}
}

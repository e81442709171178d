package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

// Options are where the figures come from.
type Options struct {
	Status    func(ctx context.Context) (*ctl.Status, error)
	Resources func() resources.Sample // nil: no container or disk figures
	Timeout   time.Duration           // bound of one status assembly in a scrape
}

// Metrics is wpinit's registry: its collectors and the pass figures the reconciler hands in.
type Metrics struct {
	reg     *prometheus.Registry
	passes  prometheus.Histogram
	actions *prometheus.CounterVec
}

// New registers the collectors.
func New(opt Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		passes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wpdind_reconcile_pass_duration_seconds", Help: "Duration of the reconciler's passes.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wpdind_reconcile_actions_total", Help: "Actions the reconciler's passes planned, by kind.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.passes, m.actions, &statusCollector{opt: opt},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObservePass records one reconcile pass: its duration and its actions by kind.
func (m *Metrics) ObservePass(d time.Duration, actions map[string]int) {
	m.passes.Observe(d.Seconds())
	for kind, n := range actions {
		m.actions.WithLabelValues(kind).Add(float64(n))
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

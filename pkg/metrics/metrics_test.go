package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

func fixtureStatus() *ctl.Status {
	return &ctl.Status{
		Services: []ctl.ServiceStatus{
			{Name: "nginx", State: "RUNNING", Ready: true, Restarts: 2, LastExit: "signal 9 (SIGKILL)", ExitCode: -1, ExitSignal: 9},
			{Name: "maildev", State: "STARTING"},
		},
		Instances: &ctl.InstancesStatus{Instances: []ctl.InstanceStatus{
			{Name: "site", State: ctl.InstanceRunning, Health: "healthy", ProbeLatency: 25 * time.Millisecond},
		}},
		Images: &ctl.ImagesStatus{Tarballs: []ctl.TarballStatus{
			{Name: "wp-php.tar", State: ctl.TarballLoaded, BytesRead: 1000, Duration: 1500 * time.Millisecond},
			{Name: "wp-db.tar", State: ctl.TarballLoading, BytesRead: 10},
		}},
	}
}

func fixtureSample() resources.Sample {
	return resources.Sample{
		Containers: []resources.ContainerUsage{
			{Container: resources.Container{Instance: "site", Role: "php"}, Usage: resources.Usage{CPUSeconds: 2.5, MemoryBytes: 1 << 20}},
		},
		Disk: resources.DiskUsage{At: time.Now(), Bytes: map[string]int64{"site": 4096, resources.BackupsKey: 8192}},
	}
}

func newFixture(st *ctl.Status, err error) *Metrics {
	return New(Options{
		Status:    func(context.Context) (*ctl.Status, error) { return st, err },
		Resources: fixtureSample, Timeout: time.Second,
	})
}

// TestCollectors: the status and the sample come out as these series, exactly.
func TestCollectors(t *testing.T) {
	m := newFixture(fixtureStatus(), nil)
	m.ObservePass(30*time.Millisecond, map[string]int{"create": 3})
	m.ObservePass(2*time.Millisecond, nil)
	want := `
# HELP wpdind_service_up 1 when the service's process runs (RUNNING).
# TYPE wpdind_service_up gauge
wpdind_service_up{service="maildev"} 0
wpdind_service_up{service="nginx"} 1
# HELP wpdind_service_restarts_total Restarts of the service since wpinit started.
# TYPE wpdind_service_restarts_total counter
wpdind_service_restarts_total{service="maildev"} 0
wpdind_service_restarts_total{service="nginx"} 2
# HELP wpdind_service_last_exit_signal Signal that ended the service's last exit; 0 for an exit code.
# TYPE wpdind_service_last_exit_signal gauge
wpdind_service_last_exit_signal{service="nginx"} 9
# HELP wpdind_instance_health 1 for the instance's current health.
# TYPE wpdind_instance_health gauge
wpdind_instance_health{health="down",instance="site"} 0
wpdind_instance_health{health="healthy",instance="site"} 1
wpdind_instance_health{health="sleeping",instance="site"} 0
wpdind_instance_health{health="starting",instance="site"} 0
wpdind_instance_health{health="unhealthy",instance="site"} 0
# HELP wpdind_instance_probe_latency_seconds Latency of the last successful HTTP probe of the site.
# TYPE wpdind_instance_probe_latency_seconds gauge
wpdind_instance_probe_latency_seconds{instance="site"} 0.025
# HELP wpdind_container_cpu_seconds_total CPU time used by the container since it started.
# TYPE wpdind_container_cpu_seconds_total counter
wpdind_container_cpu_seconds_total{instance="site",role="php"} 2.5
# HELP wpdind_container_memory_bytes Memory in use by the container, without inactive page cache.
# TYPE wpdind_container_memory_bytes gauge
wpdind_container_memory_bytes{instance="site",role="php"} 1.048576e+06
# HELP wpdind_backups_bytes Disk used by the backups folder, at the last disk walk.
# TYPE wpdind_backups_bytes gauge
wpdind_backups_bytes 8192
# HELP wpdind_image_load_seconds Time the tarball's check and load took, once settled.
# TYPE wpdind_image_load_seconds gauge
wpdind_image_load_seconds{state="loaded",tarball="wp-php.tar"} 1.5
# HELP wpdind_reconcile_actions_total Actions the reconciler's passes planned, by kind.
# TYPE wpdind_reconcile_actions_total counter
wpdind_reconcile_actions_total{kind="create"} 3
`
	names := []string{"wpdind_service_up", "wpdind_service_restarts_total", "wpdind_service_last_exit_signal",
		"wpdind_instance_health", "wpdind_instance_probe_latency_seconds", "wpdind_container_cpu_seconds_total",
		"wpdind_container_memory_bytes", "wpdind_backups_bytes", "wpdind_image_load_seconds", "wpdind_reconcile_actions_total"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.passes); n != 1 {
		t.Errorf("pass histogram: %d series", n)
	}
	if problems, err := testutil.GatherAndLint(m.Registry()); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestRestartCounterGoesUp: one more restart in the status is one more in the counter.
func TestRestartCounterGoesUp(t *testing.T) {
	st := fixtureStatus()
	m := newFixture(st, nil)
	before := restarts(t, m)
	st.Services[0].Restarts++
	if after := restarts(t, m); after != before+1 {
		t.Errorf("restarts %v -> %v", before, after)
	}
}

func restarts(t *testing.T, m *Metrics) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "wpdind_service_restarts_total" {
			for _, s := range mf.GetMetric() {
				if s.GetLabel()[0].GetValue() == "nginx" {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatal("no nginx restart counter")
	return 0
}

// TestHandler: the text format over HTTP; a status that fails still serves the other
// collectors.
func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	newFixture(fixtureStatus(), nil).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `wpdind_service_ready{service="nginx"} 1`) ||
		!strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("%d %.400s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	newFixture(nil, errors.New("status gone")).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "wpdind_service") || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("with a failing status: %d %.400s", rec.Code, rec.Body)
	}
}

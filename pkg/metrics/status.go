package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	serviceUp       = desc("wpdind_service_up", "1 when the service's process runs (RUNNING).", "service")
	serviceReady    = desc("wpdind_service_ready", "1 when the service passed its readiness check.", "service")
	serviceRestarts = desc("wpdind_service_restarts_total", "Restarts of the service since wpinit started.", "service")
	serviceExitCode = desc("wpdind_service_last_exit_code", "Exit code of the service's last exit; -1 when a signal ended it.", "service")
	serviceExitSig  = desc("wpdind_service_last_exit_signal", "Signal that ended the service's last exit; 0 for an exit code.", "service")

	instanceState   = desc("wpdind_instance_state", "1 for the instance's current state.", "instance", "state")
	instanceHealth  = desc("wpdind_instance_health", "1 for the instance's current health.", "instance", "health")
	instanceLatency = desc("wpdind_instance_probe_latency_seconds", "Latency of the last successful HTTP probe of the site.", "instance")
	instancesFile   = desc("wpdind_instances_file_ok", "1 when the last load of instances.toml succeeded.")

	containerCPU = desc("wpdind_container_cpu_seconds_total", "CPU time used by the container since it started.", "instance", "role")
	containerMem = desc("wpdind_container_memory_bytes", "Memory in use by the container, without inactive page cache.", "instance", "role")
	dataBytes    = desc("wpdind_instance_data_bytes", "Disk used by the instance's data folder, at the last disk walk.", "instance")
	backupsBytes = desc("wpdind_backups_bytes", "Disk used by the backups folder, at the last disk walk.")

	imageBytes = desc("wpdind_image_load_bytes", "Bytes of the shared tarball sent to the engine.", "tarball", "state")
	imageSecs  = desc("wpdind_image_load_seconds", "Time the tarball's check and load took, once settled.", "tarball", "state")
)

var (
	instanceStates = []string{ctl.InstancePending, ctl.InstanceConverging, ctl.InstanceRunning, ctl.InstanceFailed, ctl.InstanceRemoving, ctl.InstanceSleeping}
	healths        = []string{"healthy", "starting", "unhealthy", "down", "sleeping"}
)

// statusCollector reads the ctl status and the resources' last sample at each scrape.
type statusCollector struct{ opt Options }

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{serviceUp, serviceReady, serviceRestarts, serviceExitCode, serviceExitSig,
		instanceState, instanceHealth, instanceLatency, instancesFile, containerCPU, containerMem, dataBytes,
		backupsBytes, imageBytes, imageSecs} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
	defer cancel()
	st, err := c.opt.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(serviceUp, err)
		return
	}
	collectServices(ch, st.Services)
	if st.Instances != nil {
		collectInstances(ch, st.Instances)
	}
	if st.Images != nil {
		collectImages(ch, st.Images)
	}
	if c.opt.Resources != nil {
		c.collectResources(ch)
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func collectServices(ch chan<- prometheus.Metric, svcs []ctl.ServiceStatus) {
	for _, s := range svcs {
		gauge(ch, serviceUp, b2f(s.State == "RUNNING"), s.Name)
		gauge(ch, serviceReady, b2f(s.Ready), s.Name)
		counter(ch, serviceRestarts, float64(s.Restarts), s.Name)
		if s.LastExit != "" {
			gauge(ch, serviceExitCode, float64(s.ExitCode), s.Name)
			gauge(ch, serviceExitSig, float64(s.ExitSignal), s.Name)
		}
	}
}

func collectInstances(ch chan<- prometheus.Metric, in *ctl.InstancesStatus) {
	gauge(ch, instancesFile, b2f(in.FileError == ""))
	for _, i := range in.Instances {
		for _, s := range instanceStates {
			gauge(ch, instanceState, b2f(i.State == s), i.Name, s)
		}
		for _, h := range healths {
			gauge(ch, instanceHealth, b2f(i.Health == h), i.Name, h)
		}
		if i.ProbeLatency > 0 {
			gauge(ch, instanceLatency, i.ProbeLatency.Seconds(), i.Name)
		}
	}
}

func collectImages(ch chan<- prometheus.Metric, im *ctl.ImagesStatus) {
	for _, t := range im.Tarballs {
		gauge(ch, imageBytes, float64(t.BytesRead), t.Name, string(t.State))
		if t.State.Settled() {
			gauge(ch, imageSecs, t.Duration.Seconds(), t.Name, string(t.State))
		}
	}
}

// collectResources: the sampler's last reading, waiting a little for one when it slept.
func (c *statusCollector) collectResources(ch chan<- prometheus.Metric) {
	s := c.opt.Resources()
	seen := map[[2]string]bool{}
	for _, u := range s.Containers {
		key := [2]string{u.Instance, u.Role}
		if seen[key] { // a replaced container still listed: one series per instance and role
			continue
		}
		seen[key] = true
		counter(ch, containerCPU, u.CPUSeconds, u.Instance, u.Role)
		gauge(ch, containerMem, float64(u.MemoryBytes), u.Instance, u.Role)
	}
	if s.Disk.At.IsZero() {
		return
	}
	for key, n := range s.Disk.Bytes {
		if key == resources.BackupsKey {
			gauge(ch, backupsBytes, float64(n))
		} else {
			gauge(ch, dataBytes, float64(n), key)
		}
	}
}

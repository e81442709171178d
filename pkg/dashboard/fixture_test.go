package dashboard

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

// The fixture: two services, an image load in progress and a failed one, two instances
// (one healthy with a backup, one failing), a bad instances.toml, a sample.

var started = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func fixtureStatus() *ctl.Status {
	return &ctl.Status{
		Wpinit: &ctl.DaemonStatus{Version: "1.2.3", Started: started},
		Services: []ctl.ServiceStatus{
			{Name: "dockerd", State: "RUNNING", Ready: true, Started: started, Critical: true},
			{Name: "nginx", State: "RUNNING", Ready: true, Started: started, Restarts: 1, LastExit: "signal 9 (SIGKILL)"},
		},
		Images: &ctl.ImagesStatus{Tarballs: []ctl.TarballStatus{
			{Name: "wp-php.tar", State: ctl.TarballLoading, Size: 1000, BytesRead: 250},
			{Name: "wp-bad.tar", State: ctl.TarballFailed, Error: "unexpected EOF"},
			{Name: "wp-db.tar", State: ctl.TarballSkipped},
		}},
		Instances: &ctl.InstancesStatus{Ready: true, FileError: "instances.toml:7: bad",
			FileLines: []ctl.FileError{{Line: 7, Message: "instances.toml:7: instance.php: unknown version \"9.9\""}},
			Instances: []ctl.InstanceStatus{
				{Name: "blog", ID: 1, State: "running", Health: "healthy", URL: "http://localhost:8001", PHP: "8.4", DB: "mariadb 11.8", Web: "nginx 1.26", ProbeLatency: 42 * time.Millisecond},
				{Name: "shop", ID: 2, State: "failed", Health: "down", URL: "http://localhost:8002", PHP: "7.4", DB: "mariadb 10.5", Web: "apache 2.4", LastError: "wait for db: <script>alert(1)</script>"},
			}},
	}
}

func fixtureSample() resources.Sample {
	return resources.Sample{At: started, Containers: []resources.ContainerUsage{
		{Container: resources.Container{ID: "blog-db-id", Instance: "blog", Role: "db"}, Usage: resources.Usage{MemoryBytes: 96 << 20}, CPUPercent: 1.25},
		{Container: resources.Container{ID: "blog-php-id", Instance: "blog", Role: "php"}, Usage: resources.Usage{MemoryBytes: 40 << 20}, CPUPercent: 0.5},
	}, Disk: resources.DiskUsage{At: started, Bytes: map[string]int64{"blog": 120 << 20, "backups": 3 << 20}}}
}

// fakeInstances answers from the fixture and records the actions.
type fakeInstances struct {
	mu      sync.Mutex
	calls   []string
	backups []ctl.BackupArchive
	xdebug  string
}

func (f *fakeInstances) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeInstances) Detail(name string, secrets bool) (ctl.InstanceDetail, error) {
	if name != "blog" && name != "shop" {
		return ctl.InstanceDetail{}, ctl.Mark(context.Canceled, ctl.ErrNotFound)
	}
	f.mu.Lock()
	d := ctl.InstanceDetail{XdebugMode: f.xdebug}
	f.mu.Unlock()
	if name == "blog" {
		d.Containers = []ctl.ContainerStatus{{Role: "db", Name: "blog-db", ID: "blog-db-id", State: "running"},
			{Role: "php", Name: "blog-php", ID: "blog-php-id", State: "running"}, {Role: "web", Name: "blog-web", ID: "blog-web-id", State: "exited"}}
	}
	if secrets {
		d.Secrets = &ctl.Secrets{AdminUser: "admin", AdminPassword: "pw-" + name + "-s3cret", DBPassword: "db-s3cret"}
	}
	return d, nil
}
func (f *fakeInstances) Purge(string) ([]ctl.Archived, error) { return nil, nil }
func (f *fakeInstances) Xdebug(_ context.Context, name string, on bool) (*ctl.XdebugResult, error) {
	f.record("xdebug " + name + map[bool]string{true: " on", false: " off"}[on])
	f.mu.Lock()
	f.xdebug = map[bool]string{true: "debug", false: "off"}[on]
	f.mu.Unlock()
	return &ctl.XdebugResult{Instance: name, Mode: f.xdebug}, nil
}
func (f *fakeInstances) Backup(_ context.Context, name string) (*ctl.BackupResult, error) {
	f.record("backup " + name)
	return &ctl.BackupResult{Path: "/r/backups/" + name + "-x.tar.gz", Bytes: 2048}, nil
}
func (f *fakeInstances) Restore(context.Context, string, string) (*ctl.RestoreResult, error) {
	return nil, nil
}
func (f *fakeInstances) Restart(_ context.Context, name string) (*ctl.RestartResult, error) {
	f.record("restart " + name)
	return &ctl.RestartResult{Instance: name}, nil
}
func (f *fakeInstances) Backups(string) ([]ctl.BackupArchive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ctl.BackupArchive(nil), f.backups...), nil
}

// fixtureServer is a dashboard over the fixture; status may be changed under mu.
type fixtureServer struct {
	*Server
	mu     sync.Mutex
	status *ctl.Status
	inst   *fakeInstances
}

func newFixtureServer() *fixtureServer {
	f := &fixtureServer{status: fixtureStatus(), inst: &fakeInstances{backups: []ctl.BackupArchive{
		{Instance: "blog", Path: "/r/backups/blog-20261201-080000.tar.gz", When: started.Add(-time.Hour), Bytes: 3 << 20}}}}
	s, err := New(Options{
		Status: func(context.Context) (*ctl.Status, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.status, nil
		},
		Instances: func() (ctl.Instances, error) { return f.inst, nil },
		Resources: func(time.Duration) resources.Sample { return fixtureSample() },
		ServiceLogs: func(name string, n int) ([]ctl.LogLine, <-chan ctl.LogLine, func(), error) {
			next := make(chan ctl.LogLine, 1)
			next <- ctl.LogLine{Stream: "stderr", Text: name + " later"}
			close(next)
			return []ctl.LogLine{{Stream: "stdout", Text: name + " started"}}, next, func() {}, nil
		},
		ContainerLogs: func(_ context.Context, id string, _ int, fn func(ctl.LogLine) error) error {
			return fn(ctl.LogLine{Stream: "stdout", Text: "from " + id})
		},
		Links:    Links{PhpMyAdmin: "http://localhost:8080/", Mail: "http://localhost:1080/"},
		Interval: 20 * time.Millisecond, Logger: hclog.NewNullLogger(),
	})
	if err != nil {
		panic(err)
	}
	f.Server = s
	return f
}

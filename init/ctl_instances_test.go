package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

func TestWritePipelineStatus(t *testing.T) {
	tests := []struct {
		name string
		st   ctl.Status
		want []string
	}{
		{"loading", ctl.Status{
			Images: &ctl.ImagesStatus{Dir: "/shared-images", Tarballs: []ctl.TarballStatus{
				{Name: "a.tar", State: ctl.TarballLoaded}, {Name: "b.tar", State: ctl.TarballLoading, Size: 200, BytesRead: 50},
				{Name: "c.tar", State: ctl.TarballPending}, {Name: "d.tar", State: ctl.TarballFailed, Error: "unexpected EOF"}}},
			Instances: &ctl.InstancesStatus{File: "/etc/wpinit/instances.toml"},
		}, []string{
			"images (/shared-images): loading, 1 loaded, 0 skipped, 1 failed, 1 in progress, 1 pending",
			"b.tar: loading 25%", "d.tar: failed: unexpected EOF",
			"(no pass yet: instances converge once the engine answers and the shared images are loaded)",
		}},
		{"converged", ctl.Status{
			Docker: &ctl.DockerStatus{Connected: true},
			Images: &ctl.ImagesStatus{Dir: "/shared-images", Done: true, Duration: 1500 * time.Millisecond,
				Tarballs: []ctl.TarballStatus{{Name: "a.tar", State: ctl.TarballSkipped}}},
			Instances: &ctl.InstancesStatus{File: "/i.toml", LastPass: time.Now(), Instances: []ctl.InstanceStatus{
				{Name: "site", ID: 1, State: "running", URL: "http://localhost:8001", PHP: "php 8.4", DB: "mariadb 11.8", Web: "nginx 1.26", Health: "healthy"}},
				FileError: "bad", FileLines: []ctl.FileError{{Line: 3, Message: "/i.toml:3: instance[0].php: unknown version"}}},
		}, []string{
			"images (/shared-images): done in 1.5s, 0 loaded, 1 skipped, 0 failed\n",
			"site      1   running  http://localhost:8001  php 8.4  mariadb 11.8  nginx 1.26  healthy  -",
			"/i.toml not applied (the last good one stays):\n  /i.toml:3: instance[0].php: unknown version",
		}},
		{"no instances", ctl.Status{Instances: &ctl.InstancesStatus{File: "/i.toml", LastPass: time.Now()}},
			[]string{"(no instances declared in /i.toml)"}},
		{"engine down", ctl.Status{Docker: &ctl.DockerStatus{Error: "connection refused"}},
			[]string{"docker: not answering yet at the default socket (connection refused)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writePipelineStatus(&b, &tt.st); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

package ctl

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var (
	upService = ServiceStatus{Name: "dockerd", State: "RUNNING", Ready: true, Critical: true}
	serving   = InstanceStatus{Name: "site", State: InstanceRunning, Health: "healthy", URL: "http://localhost:8001"}
)

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		st   Status
		want []string
	}{
		{"services", Status{Services: []ServiceStatus{
			upService, {Name: "nginx", State: "BACKOFF", Error: "exit 1"}, {Name: "maildev", State: "STARTING"},
			{Name: "web", State: "STARTING", Ready: true, Error: "waiting for php-fpm"}}},
			[]string{"service dockerd: RUNNING, ready", "service nginx: BACKOFF (exit 1)", "service maildev: STARTING",
				"service web: STARTING, ready"}},
		{"tarballs, percent in steps of 20", Status{Images: &ImagesStatus{Tarballs: []TarballStatus{
			{Name: "a.tar", State: TarballPending}, {Name: "b.tar", State: TarballChecking},
			{Name: "c.tar", State: TarballLoading, Size: 1000, BytesRead: 599},
			{Name: "d.tar", State: TarballLoading, Size: 1000, BytesRead: 600},
			{Name: "e.tar", State: TarballLoading}, // size unknown yet
			{Name: "f.tar", State: TarballLoaded, Duration: 12345 * time.Millisecond},
			{Name: "g.tar", State: TarballSkipped}, {Name: "h.tar", State: TarballFailed, Error: "unexpected EOF"}}}},
			[]string{"image c.tar: loading 40%", "image d.tar: loading 60%", "image e.tar: loading 0%",
				"image f.tar: loaded in 12.3s", "image g.tar: skipped, its images are loaded", "image h.tar: failed: unexpected EOF"}},
		{"images done", Status{Images: &ImagesStatus{Done: true, Duration: 1500 * time.Millisecond, Tarballs: []TarballStatus{
			{Name: "a.tar", State: TarballSkipped}}}},
			[]string{"image a.tar: skipped, its images are loaded", "images: done in 1.5s: 0 loaded, 1 skipped, 0 failed"}},
		{"sites", Status{Instances: &InstancesStatus{Instances: []InstanceStatus{
			{Name: "new", State: InstancePending}, {Name: "busy", State: InstanceConverging, Health: "starting"},
			{Name: "up", State: InstanceRunning, Health: "starting"}, serving,
			{Name: "bad", State: InstanceFailed, Health: "down", LastError: "image wp-php:9.9 not loaded"}}}},
			[]string{"site new: pending", "site busy: converging", "site up: running, starting", "site site: running, healthy",
				"site bad: failed: image wp-php:9.9 not loaded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range tt.st.Progress() {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Progress()\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWaiting(t *testing.T) {
	up := []ServiceStatus{upService}
	tests := []struct {
		name    string
		st      Status
		want    []string
		failure string // the error's message; "" for none
	}{
		{"serving", Status{Services: up, Images: &ImagesStatus{Done: true},
			Instances: &InstancesStatus{Ready: true, Instances: []InstanceStatus{serving}}}, nil, ""},
		{"no sites declared", Status{Services: up, Instances: &InstancesStatus{Ready: true}}, nil, ""},
		{"no pipeline", Status{Services: up}, nil, ""},
		{"a service starting", Status{Services: []ServiceStatus{{Name: "dockerd", State: "STARTING"}}},
			[]string{"dockerd STARTING (not ready)"}, ""},
		{"images loading", Status{Services: up, Images: &ImagesStatus{Tarballs: []TarballStatus{
			{State: TarballLoaded}, {State: TarballLoading}, {State: TarballPending}}}, Instances: &InstancesStatus{File: "/i.toml"}},
			[]string{"images (1 of 3 tarballs settled)", "the first pass over /i.toml"}, ""},
		{"sites on their way", Status{Services: up, Instances: &InstancesStatus{Ready: true, Instances: []InstanceStatus{
			serving, {Name: "b", State: InstanceConverging}, {Name: "c", State: InstanceRunning, Health: "unhealthy"}}}},
			[]string{"b converging", "c running, unhealthy"}, ""},
		{"a site failed", Status{Services: up, Instances: &InstancesStatus{Ready: true, Instances: []InstanceStatus{
			{Name: "a", State: InstanceFailed, LastError: "port 8001 is taken"}, {Name: "b", State: InstanceConverging},
			{Name: "c", State: InstanceFailed, LastError: "unhealthy"}}}},
			nil, "site a failed: port 8001 is taken; site c failed: unhealthy"},
		{"a failure counts before the first pass ends", Status{Instances: &InstancesStatus{Instances: []InstanceStatus{
			{Name: "a", State: InstanceFailed, LastError: "x"}}}}, nil, "site a failed: x"},
		{"instances.toml not applied", Status{Services: up, Instances: &InstancesStatus{File: "/i.toml", Ready: true,
			FileError: "two problems", FileLines: []FileError{{Message: "/i.toml:3: php: unknown"}, {Message: "/i.toml:9: id: taken"}}}},
			nil, "/i.toml is not applied: /i.toml:3: php: unknown; /i.toml:9: id: taken"},
		{"instances.toml unreadable", Status{Instances: &InstancesStatus{File: "/i.toml", FileError: "open /i.toml: permission denied"}},
			nil, "/i.toml is not applied: open /i.toml: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.st.Waiting()
			if !slices.Equal(got, tt.want) {
				t.Errorf("Waiting() = %q, want %q", got, tt.want)
			}
			switch {
			case tt.failure == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.failure != "" && (err == nil || err.Error() != tt.failure || !errors.Is(err, ErrSiteFailed)):
				t.Errorf("err = %v, want %q marked ErrSiteFailed", err, tt.failure)
			}
		})
	}
}

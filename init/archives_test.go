package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

func TestWritePurgeArchived(t *testing.T) {
	when := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	writePurgeArchived(&b, &ctl.PurgeArchivedResult{
		Purged: []ctl.Archived{{Name: "blog", Path: "/w/.archive/blog-20261101T100000Z", When: when, Bytes: 220 << 20}},
		Bytes:  220 << 20, Kept: 3, KeptDeclared: 1})
	for _, want := range []string{
		"deleted /w/.archive/blog-20261101T100000Z (220.0 MiB, archived 2026-11-01T10:00:00Z)\n",
		"purged 1 archived folders, freed 220.0 MiB; kept 3 (1 set aside by restores of instances still declared)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCtlPurgeArchivedUsage(t *testing.T) {
	for _, args := range [][]string{{"--older-than", "1h"}, {"--archived", "blog"}, {"--archived", "--older-than", "-1h"}, {"--archived", "--older-than", "a week"}} {
		if err := ctlPurgeArchived(t.Context(), ctl.NewClient("/nonexistent"), args, &strings.Builder{}); err != errUsage {
			t.Errorf("purge %v: %v, want the usage", args, err)
		}
	}
}

// The status shows the host images and the archives' space.
func TestWriteHostImagesAndArchives(t *testing.T) {
	st := ctl.Status{
		Images: &ctl.ImagesStatus{Dir: "/shared-images", Host: &ctl.HostImagesStatus{Socket: "/var/run/docker-host.sock", Images: []ctl.HostImageStatus{
			{Ref: "wp-php:8.4", State: ctl.TarballLoading, Size: 400 << 20, BytesRead: 100 << 20},
			{Ref: "wp-nginx:1.26", State: ctl.TarballSkipped, Reason: "present with the host's ID c372039fad6b"},
			{Ref: "wp-php:7.4", State: ctl.TarballFailed, Reason: "absent, and not on the host engine either"}}}},
		Instances: &ctl.InstancesStatus{File: "/i.toml", LastPass: time.Now(), Archives: ctl.ArchiveUsage{Count: 2, Bytes: 440 << 20}},
	}
	var b strings.Builder
	if err := writePipelineStatus(&b, &st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"host engine images (/var/run/docker-host.sock, the host's socket):",
		"wp-php:8.4: fetching 25% (100 of about 400 MiB)",
		"wp-nginx:1.26: skipped (present with the host's ID c372039fad6b)",
		"wp-php:7.4: failed: absent, and not on the host engine either",
		"archives: 2 instance folders, 440.0 MiB (ctl purge --archived deletes those of removed instances)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

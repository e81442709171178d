// Package resources measures what the instances use: CPU and memory per container, read
// from the cgroup files the inner engine's cgroupfs driver keeps (v1 and v2 layouts), and
// the disk use of the instances' data and of the backups folder.
//
// One Sampler goroutine reads every container once per interval and keeps the result for
// every reader (the dashboard, /metrics): no Docker request is made per container, and a
// scrape reads memory only. It samples only while someone reads (and for a minute after,
// so that Prometheus's scrapes find a fresh reading): an idle wpinit does not wake up for it. The disk walk runs at most once per DiskEvery and is bounded in entries.
package resources

// Package metrics is wpinit's /metrics in the Prometheus text format, through client_golang:
// the services, the instances, their containers' CPU and memory, the reconcile passes and
// the image loads.
//
// Everything but the pass histogram and the action counter is read at scrape time from
// what exists anyway: the ctl status (the same assembly GET /v1/status answers) and the
// resources Sampler's last reading. A scrape makes no Docker request.
package metrics

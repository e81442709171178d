// Package ctl is wpinit's control API: HTTP+JSON over a unix socket, with its wire types,
// the server (running inside wpinit) and the client (behind `wpinit ctl`).
//
// Invariant: ctl owns every request and response type (tailscale's ipnstate) and imports no
// package of the instance pipeline (reconciler, images, instance, backup, sysinit, docker):
// init/ turns their snapshots into these types. The server holds no state of its own: the
// status is assembled at each request from sections registered with StatusSection by the
// parts that own the data, so later parts extend the API without changing what is here.
package ctl

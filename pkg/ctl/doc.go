// Package ctl is wpinit's control API: HTTP+JSON over a unix socket, with its wire types,
// the server (running inside wpinit) and the client (behind `wpinit ctl`).
//
// Invariant: the server holds no state of its own. Routes are added with Handle by the parts
// that own the data, and the status is assembled at each request from sections registered
// with StatusSection, so later parts extend the API without changing what is here.
package ctl

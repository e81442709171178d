// Package testutil holds the one of each that every test package shares (tailscale's
// tstest): WaitFor, the helper-process mode, the strict skip and hermetic resources (free
// host ports, unique names).
//
// Invariant: nothing outside _test.go files imports it, and nothing in it touches an object
// that the calling test did not create.
package testutil

// Package sitelogs is an instance's logs as `ctl logs NAME` shows them: its containers'
// output, each line tagged with the container's role, the last lines of several containers
// in the order the engine took them, then every new line as it comes; or the files of its
// log folders, tailed and followed the same way.
//
// Invariant: lines reach the caller's function from one goroutine, one at a time, and a
// follow ends when its context does or when every source has ended.
package sitelogs

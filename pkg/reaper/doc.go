// Package reaper starts wpinit's child processes and collects their exit statuses.
//
// Invariant: reaper is the only code in wpinit that calls wait4. Every process wpinit spawns
// goes through Start, and one goroutine (Run) owns all waiting: it reaps with
// wait4(-1, WNOHANG) whenever Kick says a SIGCHLD arrived, hands each registered child's status
// to its channel and counts the rest as orphans. Start registers a pid before the reaper may
// look it up, so a child that dies at once still delivers its status. Nothing may call
// exec.Cmd.Wait or os.Process.Wait: they would steal statuses from the reaper.
package reaper

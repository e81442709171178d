// Package ca is wp-dind's local certificate authority: one ECDSA P-256 key and certificate,
// made once under the instances root (ROOT/.ca: ca.key 0600, ca.crt 0644), and the leaf
// certificates it issues the router's names with (90 days, issued again 30 days before
// they expire, or as soon as the names change).
//
// Invariants: an existing CA is never replaced (a user trusts it in their browsers): a CA
// file that does not read whole and match its key is an error, not a reason to make a new
// one; every file is written atomically with its mode (keys 0600), and no link is followed.
package ca

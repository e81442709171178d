// Package docker is wpinit's thin wrapper over the Docker Engine client (moby/moby/client):
// it connects with API-version negotiation (failing loudly), gives every call its own
// timeout, classifies errors (not found, conflict), names the labels wpinit puts on what it
// owns, and exposes the narrow Engine interface the reconciler depends on, in plain types.
//
// Invariant: every object this package lists or changes on behalf of the reconciler is
// selected by the owner label first; nothing here touches objects of another owner.
package docker

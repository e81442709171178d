// Package instance is one WordPress instance on disk: its folders under the instances root
// (/wordpress-instances/NAME/), the default config files generated for its versions, its
// secrets, its .instance-info, the container definitions wpinit runs for it and their
// docker-compose.yml export.
//
// Invariants: a config file the user edited is never overwritten (wpinit records the hash of
// what it wrote, to tell an edit from a stale default); secrets are generated once from
// crypto/rand, kept in a 0600 file and never logged; data/ and config/ are never deleted
// except by an explicit Purge of an archived instance (and the copy a failed restore put in
// place, which Rollback discards); every file write in an instance
// folder is atomic (files.go: unique temporary name, fsync, rename, fsync of the folder) and
// no link in it is followed (its folders must be folders, its own files are opened with
// O_NOFOLLOW).
package instance

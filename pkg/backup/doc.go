// Package backup writes and reads the backup archive of one WordPress instance: a .tar.gz
// holding a manifest, a database dump taken while the site runs (one transaction, so it is
// consistent) and the instance's files (data/wordpress, config/, .instance-info and the
// secrets file), named NAME-YYYYmmdd-HHMMSS.tar.gz (UTC) under the instances root's
// backups/ folder.
//
// Invariants: an archive appears under its final name only once it is complete (written
// to a temporary file, synced, then linked in place: an existing archive is never
// overwritten); nothing is held in memory but a copy buffer (the dump is streamed to disk,
// then into the archive); an archive is checked whole (gzip checksum, manifest, every entry
// inside the instance folder) and unpacked to a staging folder before a restore changes
// anything.
package backup

// Package backup writes and reads the backup archive of one WordPress instance: a .tar.gz
// holding a manifest, a database dump taken while the site runs (one transaction, so it is
// consistent) and the instance's files (data/wordpress, config/, .instance-info and the
// secrets file), named NAME-YYYYmmdd-HHMMSS.tar.gz (UTC) under the instances root's
// backups/ folder.
//
// Invariants: an archive appears under its final name only once it is complete (written
// to a temporary file, synced, then linked in place: an existing archive is never
// overwritten); nothing is held in memory but a copy buffer (the dump is streamed to disk,
// then into the archive). An archive is hostile until checked: it is unpacked to a staging
// folder before a restore changes anything, through an os.Root, each entry checked before
// it is written (its name inside the instance folder and of the kind that name must be,
// links only inside data/wordpress and resolving inside it, no hard links, devices or
// sparse files, no mode of the archive's kept for wpinit's own files) and counted against
// Limits (a cap per entry, and the free space of the instances root less a reserve).
// Staging folders and temporary files left by a crash are removed by Sweep.
package backup

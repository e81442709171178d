// Package atomicfile replaces a file's contents at once, for wpinit's own files (the CA's
// keys, the router's and phpMyAdmin's configuration, an instance's generated files): a
// reader sees the old file or the new one, never a part of either, and a crash leaves one of
// the two. google/renameio makes the temporary file (a unique name beside the target,
// O_EXCL, so a name planted there is never opened) and renames it over the target (a link
// there is replaced, not followed); this package adds the fixed mode, whatever the umask and
// the file it replaces, and the sync of the folder that makes the rename itself durable.
package atomicfile

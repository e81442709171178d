// Package phpmyadmin writes phpMyAdmin's list of database servers: one entry per declared
// WordPress instance (its name, its database at its network's .2:3306, cookie login), as a PHP
// fragment that Debian's /etc/phpmyadmin/config.inc.php includes from conf.d/.
//
// Invariants: the fragment is replaced atomically (a request never includes half a file)
// and only when its content changes; it holds no credential (phpMyAdmin asks for them at
// login); it appends its entries after the servers the base configuration defines, so it
// composes with them whatever the order conf.d/ is read in.
package phpmyadmin

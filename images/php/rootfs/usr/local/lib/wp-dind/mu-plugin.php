<?php
/**
 * Plugin Name: wp-dind mail sender
 * Description: Gives WordPress's mails a valid sender on a localhost site. Part of the wp-php image: wp-dind-entrypoint rewrites it at every container start.
 */

// WordPress sends as "wordpress@" + the site's host. For a wp-dind site, http://localhost:PORT,
// that is wordpress@localhost, which WordPress's own is_email() refuses (the domain needs a
// dot): every wp_mail() then fails with "Invalid address: (From)" before reaching msmtp. Only
// such an invalid sender is replaced; a valid one, or one a later filter sets, is kept.
add_filter('wp_mail_from', function ($from) {
    return is_email($from) ? $from : 'wordpress@localhost.localdomain';
}, 1);

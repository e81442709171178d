<?php
// wp-dind-install: install WordPress with the given site and admin; idempotent.
// WordPress answers a broken database with an HTML page and exit status 0, so success is
// only reported when the script reaches its end (see the shutdown function).
// The admin password comes on the first line of standard input with --admin-password-stdin
// (what wpinit does: arguments show in `ps` on the host), or as --admin-password.
$opts = getopt('', ['url:', 'title:', 'admin-user:', 'admin-password:', 'admin-password-stdin', 'admin-email:']);
if (isset($opts['admin-password-stdin'])) {
    $line = fgets(STDIN);
    $opts['admin-password'] = $line === false ? '' : rtrim($line, "\r\n");
}
foreach (['url', 'title', 'admin-user', 'admin-password', 'admin-email'] as $name) {
    if (!isset($opts[$name]) || $opts[$name] === '' || is_array($opts[$name])) {
        fwrite(STDERR, "usage: wp-dind-install --url URL --title TITLE --admin-user USER"
            . " (--admin-password PASSWORD | --admin-password-stdin) --admin-email EMAIL (missing --$name)\n");
        exit(2);
    }
}
$url = rtrim($opts['url'], '/');
$parts = parse_url($url);
if ($parts === false || !isset($parts['scheme'], $parts['host'])) {
    fwrite(STDERR, "wp-dind-install: --url must be absolute, got {$opts['url']}\n");
    exit(2);
}

$GLOBALS['wp_dind_done'] = false;
register_shutdown_function(function () {
    if (!$GLOBALS['wp_dind_done']) {
        fwrite(STDERR, "wp-dind-install: WordPress is not installed (database unreachable?)\n");
        exit(1);
    }
});

// wp-load.php and the installer look at the request the way a web install would.
$_SERVER['HTTP_HOST'] = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
$_SERVER['SERVER_NAME'] = $parts['host'];
$_SERVER['REQUEST_URI'] = '/wp-admin/install.php';
$_SERVER['HTTPS'] = $parts['scheme'] === 'https' ? 'on' : 'off';
define('WP_INSTALLING', true);
require_once getcwd() . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (is_blog_installed()) {
    echo "wp-dind-install: already installed\n";
    $GLOBALS['wp_dind_done'] = true;
    exit(0);
}
$result = wp_install($opts['title'], $opts['admin-user'], $opts['admin-email'], true, '',
    wp_slash($opts['admin-password']));
if (is_wp_error($result)) {
    fwrite(STDERR, 'wp-dind-install: ' . $result->get_error_message() . "\n");
    exit(1);
}
update_option('siteurl', $url);
update_option('home', $url);
echo "wp-dind-install: installed $url\n";
$GLOBALS['wp_dind_done'] = true;

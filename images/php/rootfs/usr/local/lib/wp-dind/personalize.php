<?php
// wp-dind-personalize: give a site made from a copy of another (a clone, a template) its own
// values: fresh salts in wp-config.php, its own URL across the database (replace-url-lib.php),
// its own admin password (on the first line of standard input) and e-mail. The database
// credentials are the database server's: wpinit sets them before this runs.
// Prints one line of JSON: the URL rewrite's counts, "salts" and "admin" (created or updated).
$opts = getopt('', ['old-url:', 'new-url:', 'admin-user:', 'admin-email:', 'admin-password-stdin']);
foreach (['old-url', 'new-url', 'admin-user', 'admin-email'] as $name) {
    if (!isset($opts[$name]) || $opts[$name] === '' || is_array($opts[$name]) || !isset($opts['admin-password-stdin'])) {
        fwrite(STDERR, "usage: wp-dind-personalize --old-url URL --new-url URL --admin-user USER --admin-email EMAIL --admin-password-stdin\n");
        exit(2);
    }
}
$line = fgets(STDIN);
$password = $line === false ? '' : rtrim($line, "\r\n");
if ($password === '') {
    fwrite(STDERR, "wp-dind-personalize: no admin password on standard input\n");
    exit(2);
}
$docroot = getcwd();

// Fresh salts: every define of the eight keys gets a new random value; the rest of
// wp-config.php stays as it is. Written to a new file renamed over the old one.
$config = $docroot . '/wp-config.php';
$text = file_get_contents($config);
$keys = 'AUTH_KEY|SECURE_AUTH_KEY|LOGGED_IN_KEY|NONCE_KEY|AUTH_SALT|SECURE_AUTH_SALT|LOGGED_IN_SALT|NONCE_SALT';
$salts = 0;
$text = preg_replace_callback("/define\\(\\s*(['\"])($keys)\\1\\s*,\\s*(['\"]).*?\\3\\s*\\)/", function ($m) use (&$salts) {
    $salts++;
    return sprintf("define('%s', '%s')", $m[2], base64_encode(random_bytes(48)));
}, $text);
if ($text === null || $salts === 0) {
    fwrite(STDERR, "wp-dind-personalize: no salt found in $config\n");
    exit(1);
}
$tmp = $config . '.wp-dind-' . bin2hex(random_bytes(4));
if (file_put_contents($tmp, $text) === false || !chmod($tmp, fileperms($config) & 0777) || !rename($tmp, $config)) {
    @unlink($tmp);
    fwrite(STDERR, "wp-dind-personalize: cannot write $config\n");
    exit(1);
}

require __DIR__ . '/replace-url-lib.php';
wp_dind_load_wordpress($docroot);
$old = rtrim($opts['old-url'], '/');
$new = rtrim($opts['new-url'], '/');
$stats = $old === $new ? new WpDindReplaceStats() : wp_dind_replace_url($old, $new);

$user = get_user_by('login', $opts['admin-user']);
if ($user) {
    wp_set_password($password, $user->ID);
    wp_update_user(['ID' => $user->ID, 'user_email' => $opts['admin-email']]);
    $admin = 'updated';
} else {
    $id = wp_insert_user(['user_login' => $opts['admin-user'], 'user_pass' => $password,
        'user_email' => $opts['admin-email'], 'role' => 'administrator']);
    if (is_wp_error($id)) {
        fwrite(STDERR, 'wp-dind-personalize: create admin: ' . $id->get_error_message() . "\n");
        exit(1);
    }
    $admin = 'created';
}
update_option('siteurl', $new);
update_option('home', $new);
echo json_encode(['tables' => $stats->tables, 'rows' => $stats->rows, 'values' => $stats->values,
    'skipped' => $stats->skipped, 'salts' => $salts, 'admin' => $admin]), "\n";

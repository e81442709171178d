<?php
// wp-dind-personalize: give a site made from a copy of another (a clone, a template) its own
// values: fresh salts in wp-config.php, its own URL across the database (replace-url-lib.php),
// its own admin password (on the first line of standard input) and e-mail. The database
// credentials are the database server's: wpinit sets them before this runs. Every user's
// sessions are ended (their tokens were the other site's).
// A site made from a template (wpinit's site templates) also gives --rename-admin, the
// template's administrator, who becomes the site's own (login, name and e-mail, the site's
// admin e-mail too), and --title, the site's title.
// Prints one line of JSON: the URL rewrite's counts, "salts", "admin" (created, updated or
// renamed) and "sessions" (users whose sessions were ended).
$opts = getopt('', ['old-url:', 'new-url:', 'admin-user:', 'admin-email:', 'admin-password-stdin', 'rename-admin:', 'title:']);
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

$admin = '';
$from = isset($opts['rename-admin']) && is_string($opts['rename-admin']) ? $opts['rename-admin'] : '';
if ($from !== '' && $from !== $opts['admin-user'] && !get_user_by('login', $opts['admin-user'])) {
    $template = get_user_by('login', $from);
    if (!$template) {
        fwrite(STDERR, "wp-dind-personalize: no user $from to rename\n");
        exit(1);
    }
    // wp_update_user cannot change a login: the row is updated as WordPress's own
    // wp_insert_user writes it, then the caches go.
    $login = sanitize_user($opts['admin-user'], true);
    $wpdb->update($wpdb->users, ['user_login' => $login, 'user_nicename' => sanitize_title($login),
        'display_name' => $login], ['ID' => $template->ID]);
    clean_user_cache($template->ID);
    update_user_meta($template->ID, 'nickname', $login);
    $admin = 'renamed';
}
if ($from !== '') {
    update_option('admin_email', $opts['admin-email']);
    delete_option('new_admin_email');
}
if (isset($opts['title']) && is_string($opts['title'])) {
    update_option('blogname', $opts['title']);
}

// The copy's users hear nothing of it: no mail about a changed address or password.
add_filter('send_email_change_email', '__return_false');
add_filter('send_password_change_email', '__return_false');
$user = get_user_by('login', $opts['admin-user']);
if ($user) {
    wp_set_password($password, $user->ID);
    wp_update_user(['ID' => $user->ID, 'user_email' => $opts['admin-email']]);
    $admin = $admin ?: 'updated';
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
// Sessions of the copy's users were made with the other site's salts: none survives.
$sessions = (int) $wpdb->query($wpdb->prepare("DELETE FROM {$wpdb->usermeta} WHERE meta_key = %s", 'session_tokens'));
wp_cache_flush();
echo json_encode(['tables' => $stats->tables, 'rows' => $stats->rows, 'values' => $stats->values,
    'skipped' => $stats->skipped, 'salts' => $salts, 'admin' => $admin, 'sessions' => $sessions]), "\n";

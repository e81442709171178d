<?php
// wp-dind-replace-url OLD NEW: rewrite OLD to NEW across the site's database (replace-url-lib.php).
// Prints one line of JSON: {"tables":N,"rows":N,"values":N,"skipped":[...]}.
if ($argc !== 3 || $argv[1] === '' || $argv[2] === '') {
    fwrite(STDERR, "usage: wp-dind-replace-url OLD NEW\n");
    exit(2);
}
require __DIR__ . '/replace-url-lib.php';
wp_dind_load_wordpress(getcwd());
$stats = wp_dind_replace_url(rtrim($argv[1], '/'), rtrim($argv[2], '/'));
echo json_encode($stats), "\n";

<?php
// Contract probe: what the PHP container runs, as JSON.
header('Content-Type: application/json');
$ext = get_loaded_extensions();
$ext = array_merge($ext, get_loaded_extensions(true));
echo json_encode([
    'version'      => PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . '.' . PHP_RELEASE_VERSION,
    'sapi'         => PHP_SAPI,
    'user'         => posix_getpwuid(posix_geteuid())['name'],
    'extensions'   => $ext,
    'xdebug_mode'  => ini_get('xdebug.mode'),
    'memory_limit' => ini_get('memory_limit'),
    'error_log'    => ini_get('error_log'),
    'db_host'      => (string) getenv('WORDPRESS_DB_HOST'),
    'request_uri'  => isset($_SERVER['REQUEST_URI']) ? $_SERVER['REQUEST_URI'] : '',
]), "\n";

<?php
// Writes an instance's wp-config.php: settings from the environment, fresh salts.
// Usage: php write-wp-config.php PATH. Called once by wp-dind-entrypoint.
if ($argc !== 2) {
    fwrite(STDERR, "usage: write-wp-config.php PATH\n");
    exit(2);
}
$salts = '';
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
          'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $key) {
    $salts .= sprintf("define('%s', '%s');\n", $key, base64_encode(random_bytes(48)));
}
$config = <<<'PHP'
<?php
// wp-config.php written by wp-dind at the instance's first start; it is never rewritten.
// Database and mail settings come from the PHP container's environment (docs/images.md).
if (!function_exists('wp_dind_env')) {
    function wp_dind_env($name, $default)
    {
        $value = getenv($name);
        return ($value === false || $value === '') ? $default : $value;
    }
}

define('DB_NAME', wp_dind_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', wp_dind_env('WORDPRESS_DB_USER', 'wordpress'));
define('DB_PASSWORD', wp_dind_env('WORDPRESS_DB_PASSWORD', ''));
define('DB_HOST', wp_dind_env('WORDPRESS_DB_HOST', 'db'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = wp_dind_env('WORDPRESS_TABLE_PREFIX', 'wp_');

if (wp_dind_env('WORDPRESS_BLOCK_EXTERNAL_HTTP', '0') === '1') {
    // Outbound HTTP stays on this machine: only localhost is let through.
    define('WP_HTTP_BLOCK_EXTERNAL', true);
}

if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && $_SERVER['HTTP_X_FORWARDED_PROTO'] === 'https') {
    $_SERVER['HTTPS'] = 'on';
}

define('WP_DEBUG', false);

PHP;
$config .= $salts . <<<'PHP'

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';

PHP;
if (file_put_contents($argv[1], $config, LOCK_EX) === false) {
    fwrite(STDERR, "write-wp-config.php: cannot write {$argv[1]}\n");
    exit(1);
}

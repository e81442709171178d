<?php
// wp-dind: WordPress answers with the URL of the request, among the site's known hosts
// (docs/images.md, "php"). The image's php.ini loads this file before every script
// (auto_prepend_file), so before wp-config.php, which is written once and never rewritten.
//
// WORDPRESS_HOSTS (set by wpinit) lists the site's hosts: "localhost:8001" (the port URL,
// that port only), "site-84.localhost" (any port), "*.blog.test" (one label, any port).
// X-Forwarded-Host and X-Forwarded-Proto are believed only from WORDPRESS_TRUSTED_PROXIES (the
// router, on the network's gateway, and this PHP container's own loopback requests); from
// anyone else they are dropped. A request for a known host gets WP_HOME and WP_SITEURL from
// its own scheme and host, so links, redirects and cookies follow it: no redirect to another
// name, and over HTTPS secure cookies and no mixed content. Any other host keeps the site's
// canonical URL. Without WORDPRESS_HOSTS (an older wpinit) nothing changes.
// wp_dind_known_host: $host ("name" or "name:port", lowercase) is one of WORDPRESS_HOSTS.
// The image's must-use plugin asks it too, of the URLs WordPress requests of itself.
function wp_dind_known_host($host)
{
    if (!preg_match('/^([a-z0-9.*-]+)(?::\d{1,5})?$/', $host, $m)) {
        return false;
    }
    $name = $m[1];
    foreach (preg_split('/\s+/', (string) getenv('WORDPRESS_HOSTS'), -1, PREG_SPLIT_NO_EMPTY) as $h) {
        if (strpos($h, ':') !== false) {
            $known = $host === $h;
        } elseif (strncmp($h, '*.', 2) === 0) {
            $suffix = substr($h, 1);
            $label = substr($name, 0, -strlen($suffix));
            $known = strlen($name) > strlen($suffix) && substr($name, -strlen($suffix)) === $suffix
                && $label !== '' && strpos($label, '.') === false;
        } else {
            $known = $name === $h;
        }
        if ($known) {
            return true;
        }
    }
    return false;
}

(function () {
    if (PHP_SAPI === 'cli' || !isset($_SERVER['REMOTE_ADDR']) || (string) getenv('WORDPRESS_HOSTS') === '') {
        return;
    }
    $proxies = preg_split('/\s+/', (string) getenv('WORDPRESS_TRUSTED_PROXIES'), -1, PREG_SPLIT_NO_EMPTY);
    if (in_array($_SERVER['REMOTE_ADDR'], $proxies, true)) {
        if (!empty($_SERVER['HTTP_X_FORWARDED_HOST'])) {
            $_SERVER['HTTP_HOST'] = $_SERVER['HTTP_X_FORWARDED_HOST'];
        }
        $proto = isset($_SERVER['HTTP_X_FORWARDED_PROTO']) ? $_SERVER['HTTP_X_FORWARDED_PROTO'] : '';
        if ($proto === 'https') {
            $_SERVER['HTTPS'] = 'on';
        } elseif ($proto === 'http') {
            unset($_SERVER['HTTPS']);
        }
    } else {
        // wp-config.php reads X-Forwarded-Proto itself: it must not see one nobody vouches for.
        unset($_SERVER['HTTP_X_FORWARDED_PROTO'], $_SERVER['HTTP_X_FORWARDED_HOST']);
    }
    $host = strtolower(isset($_SERVER['HTTP_HOST']) ? $_SERVER['HTTP_HOST'] : '');
    if (!wp_dind_known_host($host)) {
        return;
    }
    $https = !empty($_SERVER['HTTPS']) && strtolower($_SERVER['HTTPS']) !== 'off';
    $colon = strrpos($host, ':');
    $_SERVER['SERVER_PORT'] = $colon !== false ? substr($host, $colon + 1) : ($https ? '443' : '80');
    $url = ($https ? 'https' : 'http') . '://' . $host;
    if (!defined('WP_HOME')) {
        define('WP_HOME', $url);
    }
    if (!defined('WP_SITEURL')) {
        define('WP_SITEURL', $url);
    }
})();

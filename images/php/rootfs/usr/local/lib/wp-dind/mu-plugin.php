<?php
/**
 * Plugin Name: wp-dind mail sender
 * Description: Gives WordPress's mails a valid sender on a localhost site, and sends its requests to itself to its own web server. Part of the wp-php image: wp-dind-entrypoint rewrites it at every container start.
 */

// WordPress sends as "wordpress@" + the site's host. For a wp-dind site, http://localhost:PORT,
// that is wordpress@localhost, which WordPress's own is_email() refuses (the domain needs a
// dot): every wp_mail() then fails with "Invalid address: (From)" before reaching msmtp. Only
// such an invalid sender is replaced; a valid one, or one a later filter sets, is kept.
add_filter('wp_mail_from', function ($from) {
    return is_email($from) ? $from : 'wordpress@localhost.localdomain';
}, 1);

// Requests WordPress makes to itself (WP-Cron's spawn, Site Health's loopback test) go to the
// site's own web server (WORDPRESS_LOOPBACK). Here, in the PHP container, any of the site's
// names means the container itself (curl sends every *.localhost name to 127.0.0.1), and the
// router cannot be reached from an instance. The request keeps its host and scheme for
// WordPress in X-Forwarded-Host and X-Forwarded-Proto, which urls.php trusts from this
// container: https is spoken as plain HTTP to the web server next door.
function wp_dind_loopback($url)
{
    $target = getenv('WORDPRESS_LOOPBACK');
    $p = parse_url($url);
    if (!$target || !function_exists('wp_dind_known_host') || !$p || !isset($p['scheme'], $p['host'])
        || !in_array($p['scheme'], array('http', 'https'), true)) {
        return null;
    }
    $name = strtolower($p['host']);
    $host = $name . (isset($p['port']) ? ':' . $p['port'] : '');
    if (!wp_dind_known_host($host)) { // urls.php's, run before every script
        return null;
    }
    return array('scheme' => $p['scheme'], 'name' => $name, 'port' => isset($p['port']) ? (int) $p['port'] : ($p['scheme'] === 'https' ? 443 : 80),
        'host' => $host, 'target' => $target,
        'rest' => (isset($p['path']) ? $p['path'] : '/') . (isset($p['query']) ? '?' . $p['query'] : ''));
}

add_filter('http_request_args', function ($args, $url) {
    $own = wp_dind_loopback($url);
    if ($own && (!isset($args['headers']) || is_array($args['headers']))) {
        $args['headers']['X-Forwarded-Host'] = $own['host'];
        $args['headers']['X-Forwarded-Proto'] = $own['scheme'];
    }
    return $args;
}, 10, 2);

add_action('http_api_curl', function ($handle, $args, $url) {
    $own = wp_dind_loopback($url);
    if (!$own) {
        return;
    }
    curl_setopt($handle, CURLOPT_CONNECT_TO, array($own['name'] . ':' . $own['port'] . ':' . $own['target']));
    if ($own['scheme'] === 'https') {
        curl_setopt($handle, CURLOPT_URL, 'http://' . $own['name'] . ':' . $own['port'] . $own['rest']);
    }
}, 10, 3);

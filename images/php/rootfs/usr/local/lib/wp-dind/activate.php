<?php
// wp-dind-activate: make an installed WordPress what instances.toml declares, with WordPress's
// own functions (WP-CLI is not in Debian): a multisite network (install_network and
// populate_network, then the constants in wp-config.php), the plugins of wp-content/plugins
// activated (network-wide on a network), the first theme switched to (themes enabled for the
// network). Idempotent: what is already so is left alone. Usage:
//   wp-dind-activate --url URL [--multisite subdirectory|subdomain]
//                    [--plugin NAME]... [--deactivate NAME]... [--theme NAME]...
// NAME is a folder of wp-content/plugins or wp-content/themes. Like wp-dind-install, success
// is only reported when the script reaches its end: WordPress answers some failures with a
// page and exit status 0.
$opts = getopt('', ['url:', 'multisite:', 'plugin:', 'deactivate:', 'theme:']);
$list = function ($name) use ($opts) {
    return isset($opts[$name]) ? array_values((array) $opts[$name]) : [];
};
if (!isset($opts['url']) || !is_string($opts['url'])) {
    fwrite(STDERR, "usage: wp-dind-activate --url URL [--multisite subdirectory|subdomain] [--plugin NAME]... [--deactivate NAME]... [--theme NAME]...\n");
    exit(2);
}
$multisite = isset($opts['multisite']) ? $opts['multisite'] : '';
if (!in_array($multisite, ['', 'subdirectory', 'subdomain'], true)) {
    fwrite(STDERR, "wp-dind-activate: --multisite is subdirectory or subdomain, not $multisite\n");
    exit(2);
}
foreach (array_merge($list('plugin'), $list('deactivate'), $list('theme')) as $name) {
    if (!preg_match('/^[A-Za-z0-9_][A-Za-z0-9._-]*$/', $name)) {
        fwrite(STDERR, "wp-dind-activate: $name is not a folder name\n");
        exit(2);
    }
}
$parts = parse_url($opts['url']);
if ($parts === false || !isset($parts['scheme'], $parts['host'])) {
    fwrite(STDERR, "wp-dind-activate: --url must be absolute, got {$opts['url']}\n");
    exit(2);
}
// The network's domain is the site's host with its port, as WordPress stores it.
$domain = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');

$GLOBALS['wp_dind_done'] = false;
register_shutdown_function(function () {
    if (!$GLOBALS['wp_dind_done']) {
        fwrite(STDERR, "wp-dind-activate: stopped before the end (a fatal error above, or the database unreachable)\n");
        exit(1);
    }
});
function wp_dind_fail($msg)
{
    fwrite(STDERR, "wp-dind-activate: $msg\n");
    $GLOBALS['wp_dind_done'] = true;
    exit(1);
}

// wp-load.php and a multisite look at the request the way a web request would.
$_SERVER['HTTP_HOST'] = $domain;
$_SERVER['SERVER_NAME'] = $parts['host'];
$_SERVER['REQUEST_URI'] = isset($parts['path']) ? rtrim($parts['path'], '/') . '/' : '/';
$_SERVER['HTTPS'] = $parts['scheme'] === 'https' ? 'on' : 'off';
require_once getcwd() . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
if (!is_blog_installed()) {
    wp_dind_fail('WordPress is not installed (run wp-dind-install first)');
}

if ($multisite !== '' && !is_multisite()) {
    require __DIR__ . '/activate-network.php';
    wp_dind_network($domain, $multisite === 'subdomain');
    // The network is on from the next load of WordPress: do the rest in a new process.
    $args = [];
    foreach (['url' => [$opts['url']], 'plugin' => $list('plugin'), 'deactivate' => $list('deactivate'), 'theme' => $list('theme')] as $k => $vals) {
        foreach ($vals as $v) {
            $args[] = escapeshellarg("--$k=$v");
        }
    }
    $args[] = escapeshellarg("--multisite=$multisite");
    $GLOBALS['wp_dind_done'] = true;
    passthru(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(__FILE__) . ' ' . implode(' ', $args), $code);
    exit($code);
}
if ($multisite !== '' && !is_multisite()) {
    wp_dind_fail('wp-config.php does not turn the network on: its multisite constants are defined before the ones wp-dind-activate wrote?');
}

$network = is_multisite();
foreach ($list('deactivate') as $name) {
    $active = get_option('active_plugins', []);
    if ($network) {
        $active = array_merge($active, array_keys(get_site_option('active_sitewide_plugins', [])));
    }
    foreach ($active as $plugin) {
        if (strpos($plugin, "$name/") === 0) {
            deactivate_plugins($plugin, true); // from the site and the network, where active
            echo "wp-dind-activate: deactivated plugin $plugin\n";
        }
    }
}
foreach ($list('plugin') as $name) {
    $files = get_plugins('/' . $name);
    if (!$files) {
        wp_dind_fail("wp-content/plugins/$name holds no plugin (no PHP file with a Plugin Name header)");
    }
    $file = isset($files["$name.php"]) ? "$name.php" : array_keys($files)[0];
    $plugin = "$name/$file";
    if ($network ? is_plugin_active_for_network($plugin) : is_plugin_active($plugin)) {
        continue;
    }
    $result = activate_plugin($plugin, '', $network);
    if (is_wp_error($result) && $result->get_error_code() !== 'unexpected_output') {
        wp_dind_fail("activate plugin $plugin: " . $result->get_error_message());
    }
    if (is_wp_error($result)) {
        fwrite(STDERR, "wp-dind-activate: plugin $plugin printed while activated: " . substr((string) $result->get_error_data(), 0, 500) . "\n");
    }
    echo 'wp-dind-activate: activated plugin ' . $plugin . ($network ? ' for the network' : '') . "\n";
}
foreach ($list('theme') as $i => $name) {
    $theme = wp_get_theme($name);
    if (!$theme->exists() || $theme->errors()) {
        $why = $theme->errors() ? $theme->errors()->get_error_message() : 'not found';
        wp_dind_fail("theme wp-content/themes/$name: $why");
    }
    if ($network) {
        WP_Theme::network_enable_theme($name);
    }
    if ($i === 0 && get_stylesheet() !== $name) {
        switch_theme($name);
        echo "wp-dind-activate: switched to theme $name\n";
    }
}
$GLOBALS['wp_dind_done'] = true;

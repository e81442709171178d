<?php
// The network step of wp-dind-activate: what WordPress's Network Setup screen does, done by
// its own functions (as WP-CLI's `core multisite-convert` does), then the constants it asks
// the administrator to paste into wp-config.php, written between markers so that a later run
// replaces them. The site becomes the network's main site; its administrators its super
// administrators.

function wp_dind_network($domain, $subdomain)
{
    global $wpdb;
    // The network's tables are not registered on a single site.
    foreach ($wpdb->tables('ms_global') as $table => $prefixed) {
        $wpdb->$table = $prefixed;
    }
    install_network();
    $title = sprintf('%s Sites', get_option('blogname'));
    $result = populate_network(1, $domain, get_option('admin_email'), $title, '/', $subdomain);
    if (is_wp_error($result)) {
        switch ($result->get_error_code()) {
            case 'siteid_exists': // a run that stopped after the tables: the constants are left to write
                break;
            case 'no_wildcard_dns': // subdomains: the check asks the site from inside its PHP container
                fwrite(STDERR, "wp-dind-activate: WordPress could not check the subdomains' names from here; they are the router's to serve\n");
                break;
            default:
                wp_dind_fail('install the network: ' . $result->get_error_message());
        }
    }
    update_site_option('upload_space_check_disabled', 1);
    $siteID = (int) $wpdb->get_var("SELECT id FROM $wpdb->site ORDER BY id LIMIT 1");
    wp_dind_network_config($domain, $subdomain, $siteID ?: 1);
    echo "wp-dind-activate: network of " . ($subdomain ? 'subdomains' : 'subdirectories') . " on $domain\n";
}

// wp_dind_network_config writes the network's constants into wp-config.php, in place of the
// block an earlier run wrote, else before WordPress is loaded.
function wp_dind_network_config($domain, $subdomain, $siteID)
{
    $path = ABSPATH . 'wp-config.php';
    if (!file_exists($path)) {
        $path = dirname(ABSPATH) . '/wp-config.php';
    }
    $config = file_get_contents($path);
    if ($config === false) {
        wp_dind_fail("read $path");
    }
    $begin = '// BEGIN wp-dind multisite';
    $end = '// END wp-dind multisite';
    $block = "$begin: written by wp-dind-activate from instances.toml's multisite.\n"
        . "define('WP_ALLOW_MULTISITE', true);\n"
        . "define('MULTISITE', true);\n"
        . 'define(\'SUBDOMAIN_INSTALL\', ' . ($subdomain ? 'true' : 'false') . ");\n"
        . 'define(\'DOMAIN_CURRENT_SITE\', ' . var_export($domain, true) . ");\n"
        . "define('PATH_CURRENT_SITE', '/');\n"
        . "define('SITE_ID_CURRENT_SITE', $siteID);\n"
        . "define('BLOG_ID_CURRENT_SITE', 1);\n"
        . "$end\n";
    $from = strpos($config, $begin);
    if ($from !== false && ($to = strpos($config, $end, $from)) !== false) {
        $config = substr($config, 0, $from) . $block . substr($config, $to + strlen($end) + 1);
    } elseif (preg_match('/^.*(That\'s all, stop editing|if\s*\(\s*!\s*defined\(\s*[\'"]ABSPATH|require_once\s*\(?\s*ABSPATH).*$/m', $config, $m, PREG_OFFSET_CAPTURE)) {
        $config = substr($config, 0, $m[0][1]) . $block . "\n" . substr($config, $m[0][1]);
    } else {
        wp_dind_fail("$path: no place for the network's constants (no line loading wp-settings.php)");
    }
    $tmp = $path . '.wp-dind-' . getmypid();
    if (file_put_contents($tmp, $config, LOCK_EX) === false || !chmod($tmp, fileperms($path) & 0777) || !rename($tmp, $path)) {
        @unlink($tmp);
        wp_dind_fail("write $path");
    }
}

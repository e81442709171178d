<?php
// wp-dind: a site's opcache, asked by wpinit over FastCGI from inside the PHP container
// (cgi-fcgi to 127.0.0.1:9000; the web server passes only the document root's scripts, so
// no request from outside reaches this file).
//
// GET: the WordPress core scripts the opcache holds, one path per line after a first line
// "wp-dind-opcache list": what a site template records once its site has served its front
// page. POST: the request body is such a list; each script of it the opcache does not hold
// yet is compiled into it (compiled, not run). A site made from the template then answers
// its first request without compiling them. The body's first line is
// "wp-dind-opcache compiled N of M" (N compiled, M listed, the rest already cached, not
// core or not compiling: their reasons follow, one per line).
//
// Only regular files under the document root's wp-includes/ and wp-admin/ count, their
// paths resolved: WordPress's core, which nothing in wp-dind rewrites (wp-dind-personalize
// rewrites wp-config.php, and the opcache tells a file's change by its time in seconds).
header('Content-Type: text/plain; charset=utf-8');

$root = realpath(isset($_SERVER['DOCUMENT_ROOT']) ? $_SERVER['DOCUMENT_ROOT'] : '');
$core = function ($path) use ($root) {
    if ($root === false || !is_string($path) || $path === '' || strlen($path) > 4096
        || substr($path, -4) !== '.php' || !is_file($path)) {
        return false;
    }
    $real = realpath($path);
    if ($real === false || $real !== $path) { // no link, no "..", nothing to resolve
        return false;
    }
    foreach (array('/wp-includes/', '/wp-admin/') as $dir) {
        if (strncmp($real, $root . $dir, strlen($root . $dir)) === 0) {
            return true;
        }
    }
    return false;
};

if (!function_exists('opcache_get_status') || !function_exists('opcache_compile_file')) {
    http_response_code(503);
    echo "wp-dind-opcache unavailable: the opcache is not loaded\n";
    exit;
}

if ($_SERVER['REQUEST_METHOD'] === 'GET') {
    $status = opcache_get_status(true);
    if (!is_array($status)) {
        http_response_code(503);
        echo "wp-dind-opcache unavailable: the opcache is off\n";
        exit;
    }
    echo "wp-dind-opcache list\n";
    $paths = array_keys(isset($status['scripts']) ? $status['scripts'] : array());
    sort($paths);
    foreach ($paths as $path) {
        if ($core($path)) {
            echo $path, "\n";
        }
    }
    exit;
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code(405);
    echo "wp-dind-opcache: GET or POST\n";
    exit;
}

$body = (string) stream_get_contents(fopen('php://input', 'rb'), 1 << 20);
$listed = 0;
$compiled = 0;
$notes = array();
foreach (preg_split('/\n/', $body, -1, PREG_SPLIT_NO_EMPTY) as $path) {
    if (++$listed > 10000) {
        $notes[] = 'more than 10000 paths: the rest ignored';
        $listed--;
        break;
    }
    if (!$core($path)) {
        $notes[] = 'not core: ' . substr($path, 0, 200);
        continue;
    }
    if (opcache_is_script_cached($path)) {
        continue;
    }
    try {
        if (@opcache_compile_file($path)) {
            $compiled++;
        } else {
            $notes[] = 'not compiled: ' . $path;
        }
    } catch (Throwable $e) {
        $notes[] = 'not compiled: ' . $path . ': ' . get_class($e);
    }
}
echo "wp-dind-opcache compiled $compiled of $listed\n";
foreach (array_slice($notes, 0, 20) as $note) {
    echo $note, "\n";
}

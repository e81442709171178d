<?php
// The URL rewrite of wp-dind-replace-url and wp-dind-personalize: every text column of every
// table of the site's prefix, OLD replaced by NEW, serialized PHP values kept valid (their
// string lengths recomputed), JSON values decoded and encoded again. Runs inside WordPress
// (wp-load.php with WP_INSTALLING: core and must-use plugins, no plugin of the site), on its
// $wpdb and its is_serialized().
//
// A serialized value is never unserialize()d into objects: it is checked with
// unserialize(..., ['allowed_classes' => false]) (a dump is hostile: no class of it is ever
// instantiated, no __wakeup or __destruct runs), then rewritten token by token, each string
// in it rewritten the same way (a serialized or JSON value inside a serialized one, nested
// to any depth), and its length written anew. A value that does not parse is left as it is.

/**
 * Counts of one rewrite: rows rewritten (by the database's plain-text pass and by PHP's;
 * a row both rewrote counts twice), and the serialized or JSON values PHP rewrote (the
 * database does not say how many plain values its one UPDATE per table changed).
 */
final class WpDindReplaceStats
{
    public $tables = 0;
    public $rows = 0;
    public $values = 0;
    public $skipped = [];
}

/** The rewrite of one string value: serialized, JSON or plain. */
final class WpDindReplacer
{
    private $from;
    private $to;

    public function __construct(string $old, string $new)
    {
        // URLs also appear with their slashes escaped (JSON written without
        // JSON_UNESCAPED_SLASHES): http:\/\/host.
        $this->from = [$old, str_replace('/', '\/', $old)];
        $this->to = [$new, str_replace('/', '\/', $new)];
    }

    /**
     * Whether each form of the URL is replaced by one of the same length, in plain ASCII
     * (a clone's http://localhost:8001 to http://localhost:8002): then no serialized length
     * changes, and the database's REPLACE rewrites every value, serialized and JSON too.
     */
    public function sameLength(): bool
    {
        foreach ($this->from as $k => $f) {
            if (strlen($f) !== strlen($this->to[$k]) || !preg_match('/^[\x20-\x7e]*$/', $f . $this->to[$k])) {
                return false;
            }
        }
        return true;
    }

    /** The replacements of the URL's two forms. */
    public function targets(): array
    {
        return $this->to;
    }

    /** Whether v may hold the URL in one of its forms (a cheap test before parsing). */
    public function mentions(string $v): bool
    {
        return strpos($v, $this->from[0]) !== false || strpos($v, $this->from[1]) !== false;
    }

    public function value(string $v): string
    {
        if (!$this->mentions($v)) {
            return $v;
        }
        if (is_serialized($v, false)) {
            $out = $this->serialized($v);
            if ($out !== null) {
                return $out;
            }
        }
        $t = ltrim($v);
        if ($t !== '' && ($t[0] === '{' || $t[0] === '[')) {
            $out = $this->json($v);
            if ($out !== null) {
                return $out;
            }
        }
        return str_replace($this->from, $this->to, $v);
    }

    /** A serialized value rewritten, or null when it is not one PHP reads back. */
    private function serialized(string $v): ?string
    {
        if (@unserialize($v, ['allowed_classes' => false]) === false && $v !== 'b:0;') {
            return null;
        }
        try {
            $i = 0;
            $out = $this->token($v, $i);
            if ($i !== strlen($v)) {
                return null;
            }
        } catch (UnexpectedValueException $e) {
            return null;
        }
        if (@unserialize($out, ['allowed_classes' => false]) === false && $out !== 'b:0;') {
            return null;
        }
        return $out;
    }

    /** One serialized value at $i (moved past it), rewritten. */
    private function token(string $s, int &$i): string
    {
        $begin = $i;
        $type = $s[$i] ?? '';
        switch ($type) {
            case 'N':
                return $this->take($s, $i, 2);
            case 'b': case 'i': case 'd': case 'r': case 'R':
                return $this->take($s, $i, $this->until($s, $i, ';') + 1 - $i);
            case 's':
                $len = $this->length($s, $i, 2);
                $this->expect($s, $i, '"');
                $str = substr($s, $i, $len);
                $i += $len;
                $this->expect($s, $i, '"');
                $this->expect($s, $i, ';');
                $new = $this->value($str);
                return $new === $str ? substr($s, $begin, $i - $begin) : 's:' . strlen($new) . ':"' . $new . '";';
            case 'a':
                $n = $this->length($s, $i, 2);
                $this->expect($s, $i, '{');
                return "a:$n:{" . $this->members($s, $i, $n) . '}';
            case 'O':
                $head = $this->className($s, $i);
                $n = $this->length($s, $i, 0);
                $this->expect($s, $i, '{');
                return $head . "$n:{" . $this->members($s, $i, $n) . '}';
            case 'C': // custom serialization: its payload is the class's own format, kept whole
                $head = $this->className($s, $i);
                $n = $this->length($s, $i, 0);
                $this->expect($s, $i, '{');
                $body = substr($s, $i, $n);
                $i += $n;
                $this->expect($s, $i, '}');
                return $head . "$n:{" . $body . '}';
            case 'E':
                $n = $this->length($s, $i, 2);
                return "E:$n:" . $this->take($s, $i, $n + 3);
        }
        throw new UnexpectedValueException("unknown serialized type at $i");
    }

    private function members(string $s, int &$i, int $n): string
    {
        $out = '';
        for ($k = 0; $k < 2 * $n; $k++) {
            $out .= $this->token($s, $i);
        }
        $this->expect($s, $i, '}');
        return $out;
    }

    /** O:LEN:"Class": (or C:), returned as it is. */
    private function className(string $s, int &$i): string
    {
        $start = $i;
        $len = $this->length($s, $i, 2);
        $i += $len + 2;
        $this->expect($s, $i, ':');
        return substr($s, $start, $i - $start);
    }

    /** The number after skip characters at $i, up to a ':' ($i moved past it). */
    private function length(string $s, int &$i, int $skip): int
    {
        $i += $skip;
        $end = $this->until($s, $i, ':');
        $num = substr($s, $i, $end - $i);
        if ($num === '' || !ctype_digit($num)) {
            throw new UnexpectedValueException("bad length at $i");
        }
        $i = $end + 1;
        return (int) $num;
    }

    private function until(string $s, int $i, string $c): int
    {
        $p = strpos($s, $c, $i);
        if ($p === false) {
            throw new UnexpectedValueException("no '$c' after $i");
        }
        return $p;
    }

    private function expect(string $s, int &$i, string $c): void
    {
        if (($s[$i] ?? '') !== $c) {
            throw new UnexpectedValueException("'$c' expected at $i");
        }
        $i++;
    }

    private function take(string $s, int &$i, int $n): string
    {
        if ($i + $n > strlen($s)) {
            throw new UnexpectedValueException("value cut at $i");
        }
        $out = substr($s, $i, $n);
        $i += $n;
        return $out;
    }

    /** A JSON value rewritten (its strings), or null when it is not JSON. */
    private function json(string $v): ?string
    {
        $data = json_decode($v);
        if ($data === null || json_last_error() !== JSON_ERROR_NONE) {
            return null;
        }
        $flags = JSON_UNESCAPED_UNICODE | (strpos($v, '\/') === false ? JSON_UNESCAPED_SLASHES : 0);
        $out = json_encode($this->walk($data), $flags);
        return $out === false ? null : $out;
    }

    private function walk($v)
    {
        if (is_string($v)) {
            return $this->value($v);
        }
        if (is_array($v)) {
            return array_map([$this, 'walk'], $v);
        }
        if (is_object($v)) { // stdClass from json_decode
            foreach (get_object_vars($v) as $k => $x) {
                $v->$k = $this->walk($x);
            }
        }
        return $v;
    }
}

/**
 * Rewrites OLD to NEW in every text column of the site's tables ($wpdb->base_prefix). The
 * plain-text values go first, one UPDATE per table, two tables at a time
 * (wp_dind_run_updates); then, unless the two URLs have the same length, PHP rewrites the
 * serialized and JSON ones row by row (only rows whose text mentions OLD are read, 500 at a
 * time). guid columns are left as they are: WordPress's GUIDs identify posts, they are not
 * links.
 */
function wp_dind_replace_url(string $old, string $new): WpDindReplaceStats
{
    global $wpdb;
    $stats = new WpDindReplaceStats();
    $r = new WpDindReplacer($old, $new);
    $forms = [$old, str_replace('/', '\/', $old)];
    $same = $r->sameLength();
    $like = $wpdb->esc_like($wpdb->base_prefix) . '%';
    $tables = [];
    foreach ($wpdb->get_results($wpdb->prepare('SHOW TABLE STATUS LIKE %s', $like)) as $status) {
        $stats->tables++;
        $table = $status->Name;
        [$pk, $text] = wp_dind_text_columns($wpdb, $table);
        if (!$text) {
            continue;
        }
        if (!$pk) {
            $stats->skipped[] = "$table (no primary key)";
            continue;
        }
        $tables[$table] = [$pk, $text, (int) $status->Data_length];
    }
    // The largest tables first: two at a time, the posts and their meta (nearly all of a
    // large site) run side by side.
    uasort($tables, function ($a, $b) {
        return $b[2] <=> $a[2];
    });
    $updates = [];
    foreach ($tables as $table => [$pk, $text]) {
        $updates[$table] = wp_dind_plain_update($wpdb, $r, $table, $text, $forms, !$same);
    }
    $stats->rows += wp_dind_run_updates($wpdb, $updates, 2);
    if ($same) {
        return $stats; // every value is rewritten: no length to recompute
    }
    foreach ($tables as $table => [$pk, $text]) {
        wp_dind_replace_structured($wpdb, $r, $table, $pk, $text, $forms, $stats);
    }
    return $stats;
}

/** The primary key's columns and the text columns (but guid) of a table. */
function wp_dind_text_columns($wpdb, string $table): array
{
    $pk = [];
    $text = [];
    foreach ($wpdb->get_results("SHOW COLUMNS FROM `$table`") as $col) {
        if ($col->Key === 'PRI') {
            $pk[] = $col->Field;
        }
        if (preg_match('/^(var)?char|text$/i', $col->Type) && strtolower($col->Field) !== 'guid') {
            $text[] = $col->Field;
        }
    }
    return [$pk, $text];
}

/** PHP's pass over a table's serialized and JSON values that mention the URL. */
function wp_dind_replace_structured($wpdb, WpDindReplacer $r, string $table, array $pk, array $text, array $forms, WpDindReplaceStats $stats): void
{
    $cols = '`' . implode('`, `', array_unique(array_merge($pk, $text))) . '`';
    $where = wp_dind_mentions($wpdb, $text, $forms, true);
    $paged = count($pk) === 1;
    $last = null;
    do {
        $sql = "SELECT $cols FROM `$table` WHERE $where";
        if ($paged) {
            if ($last !== null) {
                $sql .= $wpdb->prepare(" AND `{$pk[0]}` > %s", $last);
            }
            $sql .= " ORDER BY `{$pk[0]}` LIMIT 500";
        }
        $rows = $wpdb->get_results($sql, ARRAY_A);
        foreach ($rows as $row) {
            wp_dind_replace_row($wpdb, $r, $table, $row, $pk, $text, $stats);
            if ($paged) {
                $last = $row[$pk[0]];
            }
        }
    } while ($paged && count($rows) === 500);
}

// Values that may be serialized or JSON (the rest is plain text): what the database's
// REGEXP below and PHP's preg_match here both call so, in the same way (letters in either
// case: MariaDB compares without case).
const WP_DIND_STRUCTURED_SQL = '^[[:space:]]*([aOsbidCE]:|N;|\\\\{|\\\\[)';
const WP_DIND_STRUCTURED_PHP = '/^\s*([aOsbidCE]:|N;|\{|\[)/i';

/**
 * The UPDATE that rewrites a table's plain-text values (neither serialized nor JSON-looking)
 * in the database itself, with REPLACE: the same as str_replace, without a round trip per row
 * (the posts of a large site mostly hold links to it), in one statement (one scan). The
 * structured ones are left to PHP, unless $guard is false (a replacement of the same length:
 * sameLength), when the database rewrites them too. REPLACE works on the value's bytes
 * (CONVERT USING binary), as str_replace does: it matches bytes on a text value too, but
 * walks its characters in the column's character set on the way: 2 s of the 12 s rewrite of
 * a 1 GB clone (its posts and postmeta side by side). A UTF-8 pattern only matches whole
 * characters of UTF-8 text, so the value stays valid as its column takes it back.
 */
function wp_dind_plain_update($wpdb, WpDindReplacer $r, string $table, array $text, array $forms, bool $guard): string
{
    $to = $r->targets();
    $set = [];
    foreach ($text as $c) {
        $replace = $wpdb->prepare("REPLACE(REPLACE(CONVERT(`$c` USING binary), %s, %s), %s, %s)", $forms[0], $to[0], $forms[1], $to[1]);
        $set[] = $guard ? "`$c` = IF(`$c` REGEXP '" . WP_DIND_STRUCTURED_SQL . "', `$c`, $replace)" : "`$c` = $replace";
    }
    return "UPDATE `$table` SET " . implode(', ', $set) . ' WHERE ' . wp_dind_mentions($wpdb, $text, $forms, false);
}

/**
 * Runs the UPDATEs (table => statement) $n at a time, each on a connection of its own to the
 * site's database (mysqli's asynchronous queries), and returns the rows they changed. The
 * first error is thrown once the statements running have ended; no other one starts.
 */
function wp_dind_run_updates($wpdb, array $updates, int $n): int
{
    $host = $wpdb->parse_db_host(DB_HOST);
    [$host, $port, $socket] = $host === false ? [DB_HOST, null, null] : $host;
    $links = [];
    try {
        for ($i = 0; $i < min($n, count($updates)); $i++) {
            $link = mysqli_init();
            if (!@$link->real_connect($host, DB_USER, DB_PASSWORD, DB_NAME, $port ? (int) $port : null, $socket ?: null)) {
                throw new RuntimeException('connect to the database: ' . mysqli_connect_error());
            }
            $links[] = $link;
            if ($wpdb->charset && !$link->set_charset($wpdb->charset)) {
                throw new RuntimeException("set the connection's charset {$wpdb->charset}: " . $link->error);
            }
        }
        $busy = []; // spl_object_id(link) => the table its statement updates
        $rows = 0;
        $failed = null;
        while (($updates && $failed === null) || $busy) {
            foreach ($links as $link) {
                if ($failed !== null || !$updates || isset($busy[spl_object_id($link)])) {
                    continue;
                }
                $table = array_key_first($updates);
                // $wpdb->prepare() hides the % of the LIKE patterns behind a placeholder
                // that only $wpdb->query() takes out: this link is not $wpdb's.
                $sql = $wpdb->remove_placeholder_escape(array_shift($updates));
                if ($link->query($sql, MYSQLI_ASYNC) === false) {
                    $failed = "update $table: " . $link->error;
                    continue;
                }
                $busy[spl_object_id($link)] = $table;
            }
            $read = $error = $reject = array_values(array_filter($links, function ($l) use ($busy) {
                return isset($busy[spl_object_id($l)]);
            }));
            if (!$read || mysqli_poll($read, $error, $reject, 1) < 1) {
                continue;
            }
            foreach ($read as $link) {
                $table = $busy[spl_object_id($link)];
                unset($busy[spl_object_id($link)]);
                if ($link->reap_async_query() === false) {
                    $failed = $failed ?? "update $table: " . $link->error;
                    continue;
                }
                $rows += max(0, $link->affected_rows);
            }
        }
        if ($failed !== null) {
            throw new RuntimeException($failed);
        }
        return $rows;
    } finally {
        foreach ($links as $link) {
            $link->close();
        }
    }
}

/**
 * The SQL condition: a text column mentions a form of the URL (and is structured, when asked).
 * It compares bytes, as REPLACE and str_replace do: LIKE on the column's own collation
 * (utf8mb4_unicode_520_ci in WordPress) decodes and folds every character, and took 12 s of
 * a 1 GB clone's 13 s scan of wp_postmeta, against 5 s for the bytes.
 */
function wp_dind_mentions($wpdb, array $text, array $forms, bool $structured): string
{
    $match = [];
    foreach ($text as $c) {
        foreach ($forms as $f) {
            $m = $wpdb->prepare("CONVERT(`$c` USING binary) LIKE %s", '%' . $wpdb->esc_like($f) . '%');
            $match[] = $structured ? "($m AND `$c` REGEXP '" . WP_DIND_STRUCTURED_SQL . "')" : $m;
        }
    }
    return '(' . implode(' OR ', $match) . ')';
}

function wp_dind_replace_row($wpdb, WpDindReplacer $r, string $table, array $row, array $pk, array $text, WpDindReplaceStats $stats): void
{
    $set = [];
    foreach ($text as $c) {
        if ($row[$c] === null || !preg_match(WP_DIND_STRUCTURED_PHP, $row[$c])) {
            continue; // plain text: the database rewrote it (wp_dind_replace_plain)
        }
        $new = $r->value($row[$c]);
        if ($new !== $row[$c]) {
            $set[$c] = $new;
        }
    }
    if (!$set) {
        return;
    }
    $where = array_intersect_key($row, array_flip($pk));
    if ($wpdb->update($table, $set, $where) === false) {
        throw new RuntimeException("update $table: " . $wpdb->last_error);
    }
    $stats->rows++;
    $stats->values += count($set);
}

/** Loads WordPress for a tool: core and must-use plugins, no plugin or theme of the site. */
function wp_dind_load_wordpress(string $docroot): void
{
    define('WP_INSTALLING', true);
    $_SERVER['HTTP_HOST'] = $_SERVER['HTTP_HOST'] ?? 'localhost';
    $_SERVER['REQUEST_URI'] = $_SERVER['REQUEST_URI'] ?? '/';
    require_once $docroot . '/wp-load.php';
}

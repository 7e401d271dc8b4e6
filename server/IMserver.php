<?php
/*
 * IMserver.php: Bleep's own message store.
 *
 * A tiny key-value server that speaks the wire format of the COMP28112 course
 * server (see the table in the project's IMserver facts), so the same client
 * works against either, but without the course server's flaws:
 *
 *   - Storage is a database reached through PDO (SQLite by default, or
 *     PostgreSQL), one row per key. Every change is one transaction, reads
 *     never write, and `get` is an indexed lookup. Concurrent requests
 *     therefore lose nothing.
 *   - Answers are plain text (`text/plain; charset=utf-8`) with
 *     `X-Content-Type-Options: nosniff`, a Content-Security-Policy that allows
 *     nothing, and a Content-Length, so a browser never runs stored bytes as a
 *     page and a client can tell a truncated answer. Bodies are the course
 *     server's bytes.
 *   - Only GET is served (other methods: 405), and a request the browser marks
 *     as cross-site (`Sec-Fetch-Site: cross-site`) may read but not write
 *     (403), so link prefetchers and hostile pages cannot change the store.
 *   - The no-action page prints the store HTML-escaped (&, <, > and ") and is
 *     streamed row by row, never held in memory. Because every quote of the
 *     serialized form is escaped, the page can only be read one way: undoing
 *     the escapes. The header `X-Bleep-Page: html-escaped` says so, and
 *     Bleep's client reads such a page escaped-first. Stored data is never
 *     included or evaluated as PHP.
 *   - A quota (bytes and keys) keeps one client from filling the disk: a set
 *     beyond it is refused with 507, while unset and clear always work.
 *   - Keys are limited to 1000 bytes and values to 60000 bytes (HTTP 413); a
 *     set of a key holding a line break is refused (400), since `keys` lists
 *     one key per line (get and unset accept it, so an old one can go).
 *   - Failures are answered with a generic one-line text (503 when the store
 *     cannot be used); the details (driver messages, host, user) go to the
 *     PHP error log only. PHP warnings are never shown; no X-Powered-By.
 *   - Nothing is cached between requests: the store is opened afresh each
 *     time, so the server recovers by itself once the cause is fixed.
 *
 * Requests (GET; only the query string matters; every answer ends in "\n"):
 *   ?action=set&key=K&value=V   store V under K (no value stores "")
 *   ?action=unset&key=K         remove K (removing a missing key is fine)
 *   ?action=clear               remove everything
 *   ?action=get&key=K           the value of K (a missing key gives "")
 *   ?action=keys                every key on its own line, in insertion
 *                               order, then an empty line
 *   anything else               an HTML-like page with the whole store in PHP
 *                               serialize() form, escaped
 *
 * Deliberate difference from the course server: set, get and unset without a
 * key (or with an empty one) answer HTTP 400 instead of silently working on
 * the key "". An empty key cannot be listed by `keys` (its line would read as
 * the end of the list), and a missing key is always a client bug.
 *
 * Settings (environment variables of the PHP process):
 *   BLEEP_IMSERVER_DSN        PDO DSN of the store. Default:
 *                             sqlite:<sys_get_temp_dir()>/bleep-imserver/store.sqlite
 *                             That folder is created private (0700); it is
 *                             refused (503, reason in the error log) unless
 *                             it is a real folder, not a symlink, owned by
 *                             the PHP user and closed to everyone else. Keep
 *                             any store you choose outside the web root.
 *                             SQLite (sqlite:) and PostgreSQL (pgsql:) work.
 *   BLEEP_IMSERVER_USER       database user (optional)
 *   BLEEP_IMSERVER_PASSWORD   database password (optional)
 *   BLEEP_IMSERVER_PERSISTENT 1: keep PostgreSQL connections open between
 *                             requests (PHP-FPM; deploy/php-fpm-pool.conf)
 *   BLEEP_IMSERVER_MAX_BYTES  quota: bytes of keys plus values (default
 *                             268435456, 256 MiB; 0 means no limit)
 *   BLEEP_IMSERVER_MAX_KEYS   quota: number of keys (default 200000; 0 means
 *                             no limit)
 *
 * The tables `kv` (the entries) and `kv_usage` (one row: how many keys and
 * bytes, kept by every change, for the quota) are created if missing. An
 * existing store is used only if `kv` has exactly the expected columns and
 * there are no triggers, views or rules. A PostgreSQL connection kept by a
 * PHP-FPM worker checks that in full once, then on each request only that
 * both tables are still plain tables that never had a trigger or a rule.
 */

declare(strict_types=1);

// Never show a PHP warning or error to a client: it would corrupt an answer.
ini_set('display_errors', '0');
ini_set('log_errors', '1');
error_reporting(E_ALL);

const PAGE_HEADING = '<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>';
const PAGE_FOOTER = '</body></html>' . "\n";
const MAX_KEY_BYTES = 1000;
const MAX_VALUE_BYTES = 60000;
const BUSY_TIMEOUT_SECONDS = 10;
const DEFAULT_MAX_BYTES = 268435456;
const DEFAULT_MAX_KEYS = 200000;
/** Rows read at a time when a listing is streamed. */
const PAGE_BATCH_ROWS = 64;
const UNAVAILABLE = 'the message store is unavailable; try again later';
const WRITE_ACTIONS = ['set', 'unset', 'clear'];

/** A request that cannot be served, with its HTTP status and a one-line reason. */
final class RequestFailed extends Exception
{
    public function __construct(public readonly int $status, string $reason)
    {
        parent::__construct($reason);
    }
}

/** The store cannot be used; `$detail` goes to the error log only. */
function unavailable(string $detail): RequestFailed
{
    error_log('IMserver.php: ' . preg_replace('/\s+/', ' ', $detail));
    return new RequestFailed(503, UNAVAILABLE);
}

main();

function main(): void
{
    header_remove('X-Powered-By');
    try {
        check_request($_SERVER, $_GET);
        $action = $_GET['action'] ?? null;
        if (in_array($action, ['set', 'unset', 'clear', 'get'], true)) {
            answer(handle($action, $_GET));
        } elseif ($action === 'keys') {
            stream_keys();
        } else {
            stream_page();
        }
    } catch (RequestFailed $failure) {
        fail($failure->status, $failure->getMessage());
    } catch (PDOException $e) {
        $failure = unavailable('database error: ' . $e->getMessage());
        fail($failure->status, $failure->getMessage());
    } catch (Throwable $e) {
        error_log('IMserver.php: ' . get_class($e) . ': ' . $e->getMessage());
        fail(500, 'the message server failed; try again later');
    }
}

/** The headers every answer carries. */
function common_headers(int $length): void
{
    header('Content-Type: text/plain; charset=utf-8');
    header('X-Content-Type-Options: nosniff');
    header("Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; sandbox");
    header('Referrer-Policy: no-referrer');
    header('Cache-Control: no-store');
    header('Content-Length: ' . $length);
}

function answer(string $body): void
{
    common_headers(strlen($body));
    echo $body;
}

/** Answers with an HTTP error status and a one-line plain-text reason. */
function fail(int $status, string $reason): void
{
    if (headers_sent()) {
        return; // a streamed page broke off: its Content-Length tells the client
    }
    http_response_code($status);
    if ($status === 405) {
        header('Allow: GET');
    }
    answer($status . ': ' . preg_replace('/\s+/', ' ', $reason) . "\n");
}

/** Only GET is served, and a browser's cross-site request may not write. */
function check_request(array $server, array $query): void
{
    $method = $server['REQUEST_METHOD'] ?? 'GET';
    if ($method !== 'GET') {
        throw new RequestFailed(405, 'only GET requests are served');
    }
    $site = strtolower((string) ($server['HTTP_SEC_FETCH_SITE'] ?? ''));
    if ($site === 'cross-site' && in_array($query['action'] ?? null, WRITE_ACTIONS, true)) {
        throw new RequestFailed(403, 'a request from another site may not change the store');
    }
}

/** Serves one request other than the page and returns the body of the answer. */
function handle(string $action, array $query): string
{
    switch ($action) {
        case 'set':
            $key = required_key($query);
            if (strpbrk($key, "\r\n") !== false) {
                throw new RequestFailed(400, 'a key may not hold a line break');
            }
            $value = optional_value($query);
            set_value(open_store(), $key, $value);
            return "\n";
        case 'unset':
            $key = required_key($query);
            unset_key(open_store(), $key);
            return "\n";
        case 'clear':
            clear_store(open_store());
            return "\n";
        default:
            $key = required_key($query);
            return get_value(open_store(), $key) . "\n";
    }
}

// ---------------------------------------------------------------------------
// Request parameters

function required_key(array $query): string
{
    $key = $query['key'] ?? null;
    if ($key === null || $key === '') {
        throw new RequestFailed(400, 'this action needs a non-empty key (&key=...)');
    }
    if (!is_string($key)) {
        throw new RequestFailed(400, 'the key must be given once, as a plain value');
    }
    if (strlen($key) > MAX_KEY_BYTES) {
        throw new RequestFailed(413, 'the key is longer than ' . MAX_KEY_BYTES . ' bytes');
    }
    return $key;
}

function optional_value(array $query): string
{
    $value = $query['value'] ?? '';
    if (!is_string($value)) {
        throw new RequestFailed(400, 'the value must be given once, as a plain value');
    }
    if (strlen($value) > MAX_VALUE_BYTES) {
        throw new RequestFailed(413, 'the value is longer than ' . MAX_VALUE_BYTES . ' bytes');
    }
    return $value;
}

// ---------------------------------------------------------------------------
// Opening the store

/** Opens the store afresh (no failure is remembered between requests). */
function open_store(): PDO
{
    $dsn = setting('BLEEP_IMSERVER_DSN') ?? default_dsn();
    // PostgreSQL under PHP-FPM: a worker may keep its connection between
    // requests (saves a server process per request). PDO rolls back what a
    // request left open; a connection the database dropped is replaced.
    $persistent = setting('BLEEP_IMSERVER_PERSISTENT') === '1' && str_starts_with($dsn, 'pgsql:');
    $deadline = microtime(true) + BUSY_TIMEOUT_SECONDS;
    for ($attempt = 1; ; $attempt++) {
        try {
            $db = new PDO($dsn, setting('BLEEP_IMSERVER_USER'), setting('BLEEP_IMSERVER_PASSWORD'), [
                PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                PDO::ATTR_TIMEOUT => BUSY_TIMEOUT_SECONDS,
                PDO::ATTR_PERSISTENT => $persistent,
            ]);
            prepare_connection($db);
            if (!$persistent || !schema_still_checked($db)) {
                ensure_table($db);
                if ($persistent) {
                    remember_schema_checked($db);
                }
            }
            return $db;
        } catch (PDOException $e) {
            // A new database is being set up by another request right now:
            // wait for it (within the busy timeout) instead of failing.
            if (is_busy($e) && microtime(true) < $deadline) {
                usleep(min(200000, 5000 * $attempt));
                continue;
            }
            // A kept connection the database has since dropped: PDO opens
            // a new one on the next try.
            if ($persistent && $attempt === 1 && is_lost_connection($e)) {
                continue;
            }
            throw unavailable("cannot open the store ($dsn): " . $e->getMessage());
        }
    }
}

function is_lost_connection(PDOException $e): bool
{
    $state = (string) ($e->errorInfo[0] ?? $e->getCode());
    $text = strtolower($e->getMessage());
    return str_starts_with($state, '08') || $state === '57P01'
        || str_contains($text, 'server closed the connection') || str_contains($text, 'no connection to the server')
        || str_contains($text, 'terminating connection');
}

function is_busy(PDOException $e): bool
{
    $text = strtolower($e->getMessage());
    return str_contains($text, 'database is locked') || str_contains($text, 'database is busy')
        || str_contains($text, 'duplicate key value') || str_contains($text, 'already exists')
        || str_contains($text, 'deadlock detected');
}

function setting(string $name): ?string
{
    $value = getenv($name);
    return ($value === false || $value === '') ? null : $value;
}

/** A quota setting: its default when unset, null for "no limit" (0). */
function limit_setting(string $name, int $default): ?int
{
    $text = setting($name);
    if ($text === null) {
        return $default;
    }
    if (!preg_match('/^\d{1,18}$/', $text)) {
        throw unavailable("$name must be a whole number, not \"$text\"");
    }
    return ((int) $text) === 0 ? null : (int) $text;
}

/**
 * sqlite: in a private folder under the system temp dir, outside the web
 * root. The folder is trusted only if it is ours alone: another local user
 * could otherwise plant a database there.
 */
function default_dsn(): string
{
    $folder = rtrim(sys_get_temp_dir(), '/') . '/bleep-imserver';
    if (!file_exists($folder) && !is_link($folder)) {
        $old = umask(0077);
        @mkdir($folder, 0700);
        umask($old);
    }
    clearstatcache();
    $info = @lstat($folder);
    if ($info === false) {
        throw unavailable("cannot create the store folder $folder");
    }
    $problem = match (true) {
        is_link($folder) => 'is a symbolic link',
        ($info['mode'] & 0170000) !== 0040000 => 'is not a folder',
        $info['uid'] !== posix_geteuid() => 'is owned by another user (uid ' . $info['uid'] . ')',
        ($info['mode'] & 0077) !== 0 => sprintf('is open to other users (mode %o)', $info['mode'] & 0777),
        default => null,
    };
    if ($problem !== null) {
        throw unavailable("the default store folder $folder $problem: remove it, or set BLEEP_IMSERVER_DSN");
    }
    $store = $folder . '/store.sqlite';
    $file = @lstat($store);
    if ($file !== false && (is_link($store) || $file['uid'] !== posix_geteuid())) {
        throw unavailable("the default store $store is a symbolic link or owned by another user");
    }
    return 'sqlite:' . $store;
}

function driver(PDO $db): string
{
    return $db->getAttribute(PDO::ATTR_DRIVER_NAME);
}

/**
 * PostgreSQL: each statement goes with its values in one round trip
 * (PQexecParams, values still apart from the SQL) instead of a named
 * prepared statement made and dropped around it. SQLite: wait for locks
 * instead of failing, and use write-ahead logging.
 */
function prepare_connection(PDO $db): void
{
    $driver = driver($db);
    if ($driver === 'pgsql') {
        $db->setAttribute(PDO::PGSQL_ATTR_DISABLE_PREPARES, true);
        return;
    }
    if ($driver !== 'sqlite') {
        throw new PDOException("unsupported PDO driver $driver");
    }
    $db->exec('PRAGMA busy_timeout = ' . (BUSY_TIMEOUT_SECONDS * 1000));
    $db->exec('PRAGMA trusted_schema = OFF');
    // Reading the journal mode writes nothing; only a new database is switched.
    $mode = $db->query('PRAGMA journal_mode')->fetchColumn();
    if (strtolower((string) $mode) !== 'wal') {
        $db->query('PRAGMA journal_mode = WAL')->fetchColumn();
    }
}

/**
 * Creates the table on first use; otherwise checks that it is ours: the
 * expected columns and nothing that runs on a change (trigger, rule) or
 * stands in for it (view).
 */
function ensure_table(PDO $db): void
{
    $problem = schema_problem($db);
    if ($problem === 'missing') {
        create_tables($db);
        $problem = schema_problem($db);
    }
    if ($problem !== null) {
        throw unavailable("the store's schema is not Bleep's: $problem");
    }
}

/**
 * PostgreSQL with a kept connection (PHP-FPM): whether this connection has
 * already checked the whole schema (`schema_problem`, a catalog query that
 * cost more than the request itself) and both tables are still plain
 * tables that have never had a trigger or a rule: one small lookup per
 * request instead. Anything else is checked in full again.
 */
function schema_still_checked(PDO $db): bool
{
    $still = $db->query(
        "SELECT current_setting('bleep.schema_checked', true) = '1' AND "
        . "(SELECT count(*) FROM pg_class c WHERE c.oid IN (to_regclass('kv'), to_regclass('kv_usage')) "
        . " AND c.relkind = 'r' AND NOT c.relhastriggers AND NOT c.relhasrules) = 2"
    )->fetchColumn();
    return $still === true || $still === 't' || $still === 1 || $still === '1';
}

/** Marks a kept PostgreSQL connection as checked (a setting of its session). */
function remember_schema_checked(PDO $db): void
{
    $db->query("SELECT set_config('bleep.schema_checked', '1', false)");
}

/** null when the schema is as expected, 'missing' when there is no table, else why not. */
function schema_problem(PDO $db): ?string
{
    if (driver($db) === 'sqlite') {
        $objects = $db->query("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name")->fetchAll(PDO::FETCH_NUM);
        $names = array_map(fn ($row) => $row[0] . ' ' . $row[1], $objects);
        if ($names === [] || $names === ['table kv']) {
            return 'missing';
        }
        if ($names !== ['table kv', 'table kv_usage']) {
            return 'unexpected objects: ' . implode(', ', $names);
        }
        $columns = [];
        foreach ($db->query('PRAGMA table_xinfo(kv)') as $column) {
            $columns[] = $column['name'] . ' ' . strtoupper($column['type']) . ($column['hidden'] ? ' hidden' : '');
        }
        $columns = implode(', ', $columns);
        return $columns === 'pos INTEGER, k BLOB, v BLOB' ? null : "columns $columns";
    }
    // One statement, one snapshot: a table another request is creating is
    // either wholly there or not at all.
    $row = $db->query(
        "SELECT c.relkind AS kind, "
        . "(SELECT u.relkind FROM pg_class u WHERE u.relname = 'kv_usage' AND u.relnamespace = c.relnamespace) AS usage, "
        . "(SELECT count(*) FROM pg_trigger t JOIN pg_class x ON x.oid = t.tgrelid WHERE x.relnamespace = c.relnamespace "
        . " AND x.relname IN ('kv', 'kv_usage') AND NOT t.tgisinternal) AS triggers, "
        . "(SELECT count(*) FROM pg_rewrite r JOIN pg_class x ON x.oid = r.ev_class WHERE x.relnamespace = c.relnamespace "
        . " AND x.relname IN ('kv', 'kv_usage')) AS rules, "
        . "(SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) "
        . " FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns "
        . "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        . "WHERE c.relname = 'kv' AND n.nspname = ANY (current_schemas(false)) "
        . "ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1"
    )->fetch(PDO::FETCH_ASSOC);
    if ($row === false || $row['usage'] === null) {
        return 'missing';
    }
    return match (true) {
        $row['kind'] !== 'r' || $row['usage'] !== 'r' => 'kv or kv_usage is not a plain table',
        (int) $row['triggers'] > 0 => 'kv has triggers',
        (int) $row['rules'] > 0 => 'kv has rules',
        $row['columns'] !== 'pos bigint, k bytea, v bytea' => 'columns ' . $row['columns'],
        default => null,
    };
}

/**
 * Creates what is missing, in one transaction: the table `kv` and its usage
 * row `kv_usage` (counted from `kv` for a store made before it existed).
 */
function create_tables(PDO $db): void
{
    $sqlite = driver($db) === 'sqlite';
    $sqlite ? $db->exec('BEGIN IMMEDIATE') : $db->beginTransaction();
    try {
        $db->exec(create_table_sql(driver($db)));
        $db->exec('CREATE TABLE IF NOT EXISTS kv_usage ('
            . 'id INTEGER PRIMARY KEY CHECK (id = 1), n_keys BIGINT NOT NULL, n_bytes BIGINT NOT NULL)');
        $db->exec('INSERT INTO kv_usage (id, n_keys, n_bytes) '
            . 'SELECT 1, COUNT(*), COALESCE(SUM(LENGTH(k) + LENGTH(v)), 0) FROM kv WHERE true '
            . 'ON CONFLICT (id) DO NOTHING');
        $sqlite ? $db->exec('COMMIT') : $db->commit();
    } catch (Throwable $e) {
        $sqlite ? $db->exec('ROLLBACK') : $db->rollBack();
        throw $e;
    }
}

/** `pos` keeps insertion order; an overwrite keeps the row and so its place. */
function create_table_sql(string $driver): string
{
    return match ($driver) {
        'pgsql' => 'CREATE TABLE IF NOT EXISTS kv ('
            . 'pos BIGSERIAL PRIMARY KEY, k BYTEA NOT NULL UNIQUE, v BYTEA NOT NULL)',
        default => 'CREATE TABLE IF NOT EXISTS kv ('
            . 'pos INTEGER PRIMARY KEY AUTOINCREMENT, k BLOB NOT NULL UNIQUE, v BLOB NOT NULL)',
    };
}

// ---------------------------------------------------------------------------
// Store operations. Keys and values are bound as binary so that any bytes
// round-trip; each change is a single transaction.

/**
 * Runs one change in a write transaction, the usage row (number of keys and
 * their bytes) locked first: `$change(keys, bytes)` returns how much it
 * added to each, and the row is updated with it before the commit. Every
 * change takes the same lock, so the count never drifts and two concurrent
 * sets cannot both squeeze under the quota; checking the quota costs two
 * indexed reads, whatever the size of the store.
 */
function write_transaction(PDO $db, callable $change): void
{
    $sqlite = driver($db) === 'sqlite';
    $sqlite ? $db->exec('BEGIN IMMEDIATE') : $db->beginTransaction();
    try {
        $usage = $db->query('SELECT n_keys, n_bytes FROM kv_usage WHERE id = 1' . ($sqlite ? '' : ' FOR UPDATE'))
            ->fetch(PDO::FETCH_NUM);
        if ($usage === false) {
            throw new PDOException('the usage row of the store (kv_usage) is missing');
        }
        [$added_keys, $added_bytes] = $change((int) $usage[0], (int) $usage[1]);
        if ($added_keys !== 0 || $added_bytes !== 0) {
            $update = $db->prepare('UPDATE kv_usage SET n_keys = n_keys + :keys, n_bytes = n_bytes + :bytes WHERE id = 1');
            $update->bindValue(':keys', $added_keys, PDO::PARAM_INT);
            $update->bindValue(':bytes', $added_bytes, PDO::PARAM_INT);
            $update->execute();
        }
        $sqlite ? $db->exec('COMMIT') : $db->commit();
    } catch (Throwable $e) {
        $sqlite ? $db->exec('ROLLBACK') : $db->rollBack();
        throw $e;
    }
}

/** The bytes of key and value stored under $key, or -1 when there is none. */
function stored_size(PDO $db, string $key): int
{
    $statement = $db->prepare('SELECT LENGTH(k) + LENGTH(v) FROM kv WHERE k = :k');
    $statement->bindValue(':k', $key, PDO::PARAM_LOB);
    $statement->execute();
    $size = $statement->fetchColumn();
    return $size === false ? -1 : (int) $size;
}

function set_value(PDO $db, string $key, string $value): void
{
    $max_bytes = limit_setting('BLEEP_IMSERVER_MAX_BYTES', DEFAULT_MAX_BYTES);
    $max_keys = limit_setting('BLEEP_IMSERVER_MAX_KEYS', DEFAULT_MAX_KEYS);
    write_transaction($db, function (int $keys, int $bytes) use ($db, $key, $value, $max_bytes, $max_keys): array {
        $old = stored_size($db, $key);
        $added_keys = $old < 0 ? 1 : 0;
        $added_bytes = strlen($key) + strlen($value) - max($old, 0);
        $over = ($max_keys !== null && $added_keys > 0 && $keys + 1 > $max_keys)
            || ($max_bytes !== null && $added_bytes > 0 && $bytes + $added_bytes > $max_bytes);
        if ($over) {
            throw new RequestFailed(507, 'the message store is full (quota of '
                . ($max_bytes ?? 'unlimited') . ' bytes and ' . ($max_keys ?? 'unlimited')
                . ' keys); nothing was stored; unset or clear entries to make room');
        }
        $statement = $db->prepare(
            'INSERT INTO kv (k, v) VALUES (:k, :v) ON CONFLICT (k) DO UPDATE SET v = excluded.v'
        );
        $statement->bindValue(':k', $key, PDO::PARAM_LOB);
        $statement->bindValue(':v', $value, PDO::PARAM_LOB);
        $statement->execute();
        return [$added_keys, $added_bytes];
    });
}

function unset_key(PDO $db, string $key): void
{
    write_transaction($db, function () use ($db, $key): array {
        $old = stored_size($db, $key);
        if ($old < 0) {
            return [0, 0];
        }
        $statement = $db->prepare('DELETE FROM kv WHERE k = :k');
        $statement->bindValue(':k', $key, PDO::PARAM_LOB);
        $statement->execute();
        return [-1, -$old];
    });
}

function clear_store(PDO $db): void
{
    write_transaction($db, function (int $keys, int $bytes) use ($db): array {
        $db->exec('DELETE FROM kv');
        return [-$keys, -$bytes];
    });
}

/** The value of $key, or "" when there is none (uses the unique index on k). */
function get_value(PDO $db, string $key): string
{
    $statement = $db->prepare('SELECT v FROM kv WHERE k = :k');
    $statement->bindValue(':k', $key, PDO::PARAM_LOB);
    $statement->execute();
    $value = $statement->fetchColumn();
    return $value === false ? '' : bytes($value);
}

// ---------------------------------------------------------------------------
// The listings (keys, and the no-action page), streamed

/** Starts a read-only snapshot: every read of one listing sees the same rows. */
function begin_snapshot(PDO $db): void
{
    if (driver($db) === 'sqlite') {
        $db->exec('BEGIN');
    } else {
        // Through PDO, so that PDO knows to roll it back if the request dies.
        $db->beginTransaction();
        $db->exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    }
}

/** Every row in insertion order, a few at a time: [pos, k, v] with bytes. */
function each_row(PDO $db, string $columns): Generator
{
    $statement = $db->prepare("SELECT pos, $columns FROM kv WHERE pos > :after ORDER BY pos LIMIT " . PAGE_BATCH_ROWS);
    $after = 0;
    do {
        $statement->bindValue(':after', $after, PDO::PARAM_INT);
        $statement->execute();
        $rows = $statement->fetchAll(PDO::FETCH_NUM);
        foreach ($rows as $row) {
            $after = (int) $row[0];
            yield array_map('bytes', array_slice($row, 1));
        }
    } while (count($rows) === PAGE_BATCH_ROWS);
}

/** Prints the pieces after the headers; a failure now can only cut the answer short. */
function print_pieces(PDO $db, iterable $pieces): void
{
    try {
        foreach ($pieces as $piece) {
            echo $piece;
        }
        driver($db) === 'sqlite' ? $db->exec('COMMIT') : $db->commit();
    } catch (Throwable $e) {
        error_log('IMserver.php: answer cut short: ' . $e->getMessage());
    }
}

/** `keys`: every key and "\n", then "\n"; the length is summed by the database. */
function stream_keys(): void
{
    $db = open_store();
    begin_snapshot($db);
    $length = 1 + (int) $db->query('SELECT COALESCE(SUM(LENGTH(k) + 1), 0) FROM kv')->fetchColumn();
    common_headers($length);
    print_pieces($db, (function () use ($db): Generator {
        foreach (each_row($db, 'k') as [$k]) {
            yield $k . "\n";
        }
        yield "\n";
    })());
}

/**
 * Prints the page a few rows at a time. Inside one read-only snapshot the
 * rows are read twice: once to add up the page's length (sent first, as
 * Content-Length), once to print them. Memory stays at one batch of rows
 * whatever the size of the store.
 */
function stream_page(): void
{
    $db = open_store();
    begin_snapshot($db);
    $count = (int) $db->query('SELECT COUNT(*) FROM kv')->fetchColumn();
    $length = 0;
    foreach (page_pieces($db, $count) as $piece) {
        $length += strlen($piece);
    }
    common_headers($length);
    header('X-Bleep-Page: html-escaped');
    print_pieces($db, page_pieces($db, $count));
}

/** The page in pieces: heading, `a:N:{`, one escaped entry per row, `}`, footer. */
function page_pieces(PDO $db, int $count): Generator
{
    yield PAGE_HEADING . 'a:' . $count . ':{';
    foreach (each_row($db, 'k, v') as [$k, $v]) {
        yield escape_html(serialized_entry($k, $v));
    }
    yield '}' . PAGE_FOOTER;
}

/**
 * One entry as serialize() writes it inside an array. PHP itself turns keys
 * that are canonical decimal integers into integer keys (i:N;), exactly as
 * the course server's array does.
 */
function serialized_entry(string $key, string $value): string
{
    $one = serialize([$key => $value]);
    return substr($one, strlen('a:1:{'), -1);
}

/** Escapes &, <, > and ", byte by byte (no UTF-8 validation). */
function escape_html(string $bytes): string
{
    return strtr($bytes, ['&' => '&amp;', '<' => '&lt;', '>' => '&gt;', '"' => '&quot;']);
}

/** A binary column comes back as a string (SQLite) or a stream (PostgreSQL). */
function bytes(mixed $column): string
{
    return is_resource($column) ? (string) stream_get_contents($column) : (string) $column;
}

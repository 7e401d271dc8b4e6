<?php
/*
 * IMserver.php: Bleep's own message store.
 *
 * A tiny key-value server that speaks the wire format of the COMP28112 course
 * server byte for byte (see the table in the project's IMserver facts), so the
 * same client works against either, but without the course server's flaws:
 *
 *   - Storage is a database reached through PDO (SQLite by default), one row
 *     per key. Every change is one transaction, reads never write, and `get`
 *     is an indexed lookup. Concurrent requests therefore lose nothing.
 *   - The no-action page prints the store HTML-escaped; stored data is never
 *     included or evaluated as PHP.
 *   - PHP warnings are never shown to clients.
 *   - Keys are limited to 1000 bytes and values to 60000 bytes (HTTP 413).
 *   - When the store cannot be opened or used, the answer is HTTP 503 with a
 *     one-line reason. Nothing is cached: every request opens the store
 *     afresh, so the server recovers by itself once the cause is fixed.
 *
 * Requests (GET; only the query string matters; every answer ends in "\n"):
 *   ?action=set&key=K&value=V   store V under K (no value stores "")
 *   ?action=unset&key=K         remove K (removing a missing key is fine)
 *   ?action=clear               remove everything
 *   ?action=get&key=K           the value of K (a missing key gives "")
 *   ?action=keys                every key on its own line, in insertion
 *                               order, then an empty line
 *   anything else               an HTML page with the whole store in PHP
 *                               serialize() form
 *
 * Deliberate difference from the course server: set, get and unset without a
 * key (or with an empty one) answer HTTP 400 instead of silently working on
 * the key "". An empty key cannot be listed by `keys` (its line would read as
 * the end of the list), and a missing key is always a client bug.
 *
 * Settings (environment variables of the PHP process):
 *   BLEEP_IMSERVER_DSN       PDO DSN of the store. Default:
 *                            sqlite:<sys_get_temp_dir()>/bleep-imserver/store.sqlite
 *                            (that folder is created if missing; keep any
 *                            store you choose outside the web root).
 *                            SQLite (sqlite:) and PostgreSQL (pgsql:) work.
 *   BLEEP_IMSERVER_USER      database user (optional)
 *   BLEEP_IMSERVER_PASSWORD  database password (optional)
 *
 * The table `kv` is created if missing.
 */

declare(strict_types=1);

// Never show a PHP warning or error to a client: it would corrupt an answer.
ini_set('display_errors', '0');
error_reporting(E_ALL);

const PAGE_HEADING = '<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>';
const PAGE_FOOTER = '</body></html>';
const MAX_KEY_BYTES = 1000;
const MAX_VALUE_BYTES = 60000;
const BUSY_TIMEOUT_SECONDS = 10;

/** A request that cannot be served, with its HTTP status and a one-line reason. */
final class RequestFailed extends Exception
{
    public function __construct(public readonly int $status, string $reason)
    {
        parent::__construct($reason);
    }
}

main();

function main(): void
{
    try {
        $body = handle($_GET);
    } catch (RequestFailed $failure) {
        fail($failure->status, $failure->getMessage());
        return;
    } catch (PDOException $e) {
        fail(503, 'the message store cannot be used: ' . $e->getMessage());
        return;
    }
    echo $body;
}

/** Answers with an HTTP error status and a one-line plain-text reason. */
function fail(int $status, string $reason): void
{
    http_response_code($status);
    header('Content-Type: text/plain; charset=UTF-8');
    echo $status, ': ', preg_replace('/\s+/', ' ', $reason), "\n";
}

/**
 * Serves one request and returns the body of the answer. The database
 * connection is closed before the caller prints anything.
 */
function handle(array $query): string
{
    $action = $query['action'] ?? null;
    switch ($action) {
        case 'set':
            $key = required_key($query);
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
        case 'get':
            $key = required_key($query);
            return get_value(open_store(), $key) . "\n";
        case 'keys':
            return keys_listing(open_store());
        default:
            return store_page(open_store());
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
    [$dsn, $user, $password] = store_settings();
    try {
        $db = new PDO($dsn, $user, $password, [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_TIMEOUT => BUSY_TIMEOUT_SECONDS,
        ]);
        prepare_connection($db);
        ensure_table($db);
    } catch (PDOException $e) {
        throw new RequestFailed(503, 'the message store cannot be opened: ' . $e->getMessage());
    }
    return $db;
}

/** @return array{0: string, 1: ?string, 2: ?string} DSN, user, password */
function store_settings(): array
{
    $dsn = setting('BLEEP_IMSERVER_DSN') ?? default_dsn();
    return [$dsn, setting('BLEEP_IMSERVER_USER'), setting('BLEEP_IMSERVER_PASSWORD')];
}

function setting(string $name): ?string
{
    $value = getenv($name);
    return ($value === false || $value === '') ? null : $value;
}

/** sqlite: in a folder of its own under the system temp dir, outside the web root. */
function default_dsn(): string
{
    $folder = rtrim(sys_get_temp_dir(), '/') . '/bleep-imserver';
    if (!is_dir($folder) && !@mkdir($folder, 0700, true) && !is_dir($folder)) {
        throw new RequestFailed(503, "the message store cannot be opened: cannot create the folder $folder");
    }
    return 'sqlite:' . $folder . '/store.sqlite';
}

function driver(PDO $db): string
{
    return $db->getAttribute(PDO::ATTR_DRIVER_NAME);
}

/** SQLite: wait for locks instead of failing, and use write-ahead logging. */
function prepare_connection(PDO $db): void
{
    if (driver($db) !== 'sqlite') {
        return;
    }
    $db->exec('PRAGMA busy_timeout = ' . (BUSY_TIMEOUT_SECONDS * 1000));
    // Reading the journal mode writes nothing; only a new database is switched.
    $mode = $db->query('PRAGMA journal_mode')->fetchColumn();
    if (strtolower((string) $mode) !== 'wal') {
        $db->query('PRAGMA journal_mode = WAL')->fetchColumn();
    }
}

/** Creates the table on first use; when it exists this only reads the catalogue. */
function ensure_table(PDO $db): void
{
    if (table_exists($db)) {
        return;
    }
    try {
        $db->exec(create_table_sql(driver($db)));
    } catch (PDOException $e) {
        // Another request may have created it at the same moment.
        if (!table_exists($db)) {
            throw $e;
        }
    }
}

function table_exists(PDO $db): bool
{
    $sql = match (driver($db)) {
        'sqlite' => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kv'",
        'pgsql' => "SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'kv' AND schemaname = ANY (current_schemas(false))",
        default => throw new RequestFailed(503, 'the message store cannot be opened: unsupported PDO driver ' . driver($db)),
    };
    return $db->query($sql)->fetchColumn() !== false;
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
// round-trip; each change is a single statement, hence a single transaction.

function set_value(PDO $db, string $key, string $value): void
{
    $statement = $db->prepare(
        'INSERT INTO kv (k, v) VALUES (:k, :v) ON CONFLICT (k) DO UPDATE SET v = excluded.v'
    );
    $statement->bindValue(':k', $key, PDO::PARAM_LOB);
    $statement->bindValue(':v', $value, PDO::PARAM_LOB);
    $statement->execute();
}

function unset_key(PDO $db, string $key): void
{
    $statement = $db->prepare('DELETE FROM kv WHERE k = :k');
    $statement->bindValue(':k', $key, PDO::PARAM_LOB);
    $statement->execute();
}

function clear_store(PDO $db): void
{
    $db->exec('DELETE FROM kv');
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

function keys_listing(PDO $db): string
{
    $listing = '';
    foreach ($db->query('SELECT k FROM kv ORDER BY pos') as $row) {
        $listing .= bytes($row[0]) . "\n";
    }
    return $listing . "\n";
}

/**
 * The store as a PHP array in insertion order. PHP itself turns keys that are
 * canonical decimal integers into integer keys, exactly as the course server's
 * array does, so serialize() prints them as i:N;.
 */
function store_array(PDO $db): array
{
    $store = [];
    foreach ($db->query('SELECT k, v FROM kv ORDER BY pos') as $row) {
        $store[bytes($row[0])] = bytes($row[1]);
    }
    return $store;
}

function store_page(PDO $db): string
{
    return PAGE_HEADING . escape_html(serialize(store_array($db))) . PAGE_FOOTER . "\n";
}

/** Escapes only &, < and >, byte by byte (no UTF-8 validation). */
function escape_html(string $bytes): string
{
    return strtr($bytes, ['&' => '&amp;', '<' => '&lt;', '>' => '&gt;']);
}

/** A binary column comes back as a string (SQLite) or a stream (PostgreSQL). */
function bytes(mixed $column): string
{
    return is_resource($column) ? (string) stream_get_contents($column) : (string) $column;
}

<?php
/*
 * TEST FIXTURE ONLY. NEVER DEPLOY THIS FILE.
 *
 * A stand-in for the COMP28112 course server, written from the documented
 * facts about its behaviour (not from its source), so that Bleep's chaos
 * tests can run the client against the same wire format AND the same flaws:
 *
 *   - The whole store is one PHP-serialized file. It is read, unserialized,
 *     re-serialized and rewritten on EVERY request, reads included, with no
 *     lock and no atomic rename: concurrent requests lose updates, and a
 *     request that reads the file just after another truncated it fails with
 *     HTTP 500 (so does every request while the file is empty or corrupt).
 *   - The data file is chosen by the first match of /[a-z]\d{5}[a-z]{2}/ in
 *     the raw request URI, query string included, so a key or value that
 *     looks like a hospital number silently diverts the request to another
 *     store. Otherwise a shared default file is used.
 *   - `get` of a missing key indexes the array without a guard, so where
 *     display_errors is on the answer carries PHP's own warning.
 *   - The no-action page prints the raw data file unescaped (nothing at all
 *     before the first write). Unlike the real server it does not include the
 *     file as PHP: this fixture never executes stored data.
 *   - The final "\n" of every answer is the empty line after the closing tag.
 *
 * Settings (environment variables of the PHP process):
 *   BLEEP_COURSE_DATA_DIR        folder of the data files (default /tmp)
 *   BLEEP_COURSE_DISPLAY_ERRORS  "1" shows PHP warnings in answers (default off)
 */

ini_set('display_errors', getenv('BLEEP_COURSE_DISPLAY_ERRORS') === '1' ? '1' : '0');

$data_dir = getenv('BLEEP_COURSE_DATA_DIR') ?: '/tmp';
$data_file = $data_dir . '/' . data_file_name($_SERVER['REQUEST_URI']);
$store = load_store($data_file);

$action = isset($_GET['action']) ? $_GET['action'] : '';
if ($action == 'set') {
    $store[$_GET['key']] = isset($_GET['value']) ? $_GET['value'] : '';
} elseif ($action == 'unset') {
    unset($store[$_GET['key']]);
} elseif ($action == 'clear') {
    $store = array();
} elseif ($action == 'get') {
    echo $store[$_GET['key']];
} elseif ($action == 'keys') {
    foreach ($store as $key => $value) {
        echo $key . "\n";
    }
} else {
    echo '<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>';
    if (file_exists($data_file)) {
        readfile($data_file);
    }
    echo '</body></html>';
}

// Rewritten in place on every request: truncate, then write. No lock.
file_put_contents($data_file, serialize($store));

/** The data file: named after the first id-like match in the raw URI. */
function data_file_name(string $raw_uri): string
{
    if (preg_match('/[a-z]\d{5}[a-z]{2}/', $raw_uri, $match)) {
        return 'imserver-' . $match[0];
    }
    return 'imserver-default';
}

/** An empty or corrupt file makes unserialize() return false: a TypeError, HTTP 500. */
function load_store(string $data_file): array
{
    if (!file_exists($data_file)) {
        return array();
    }
    return unserialize(file_get_contents($data_file));
}
?>


<?php
/*
 * Fills a Bleep benchmark store fast, without going through HTTP.
 *
 *   php bench/seed.php ours   STORE.sqlite INPUT.tsv   rows into our table kv
 *   php bench/seed.php course DATAFILE     INPUT.tsv   the course server's file
 *
 * INPUT.tsv holds one entry a line: hex(key) TAB hex(value), in insertion
 * order. For "ours" the table must already exist (the benchmark asks the
 * server for ?action=clear first, which creates it); all rows go in one
 * transaction. For "course" the file is the store serialize()d, exactly as
 * that server writes it.
 */

declare(strict_types=1);

[$script, $mode, $target, $input] = $argv + [null, null, null, null];
if ($input === null || !in_array($mode, ['ours', 'course'], true)) {
    fwrite(STDERR, "usage: php seed.php ours|course TARGET INPUT.tsv\n");
    exit(2);
}

$entries = [];
foreach (file($input, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    [$key, $value] = explode("\t", $line, 2);
    $entries[] = [hex2bin($key), hex2bin($value)];
}

if ($mode === 'course') {
    $store = [];
    foreach ($entries as [$key, $value]) {
        $store[$key] = $value;
    }
    file_put_contents($target, serialize($store));
    exit(0);
}

$db = new PDO('sqlite:' . $target, null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->exec('PRAGMA busy_timeout = 10000');
$db->beginTransaction();
$insert = $db->prepare('INSERT INTO kv (k, v) VALUES (:k, :v)');
foreach ($entries as [$key, $value]) {
    $insert->bindValue(':k', $key, PDO::PARAM_LOB);
    $insert->bindValue(':v', $value, PDO::PARAM_LOB);
    $insert->execute();
}
$db->commit();

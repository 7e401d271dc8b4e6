// Trunk post-build hook (Trunk.toml, after start-script.mjs): writes the
// service worker, sw.js, from web/sw.js. It fills in:
// - __BLEEP_FILES__: every file of the build that the browser loads (the
//   page, scripts, WebAssembly, style sheet, icon, manifest, and any file
//   in a subfolder), never IMserver.php nor sw.js itself;
// - __BLEEP_VERSION__: a hash of those files' names and contents, so that
//   any change to the app is a different sw.js, which the browser installs
//   as a new version (and the page offers to reload).
// A release build's worker is minified with terser (as the glue is, by
// minify-release.mjs): its comments are for this repository, not the wire.
//
// The build fails, rather than ships a worker that keeps nothing or the
// wrong things, if the template lacks a placeholder, the staging folder has
// no index.html or WebAssembly, or a file name would need escaping.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadMinify } from "./terser.mjs";

const fail = (text) => {
  console.error(`offline-shell: ${text}`);
  process.exit(1);
};

const staging = process.env.TRUNK_STAGING_DIR;
const source = process.env.TRUNK_SOURCE_DIR || process.cwd();
if (!staging) fail("TRUNK_STAGING_DIR is not set (run by Trunk only)");

// Every file, subfolders included (wasm-bindgen puts a crate's JavaScript
// snippets in snippets/), named by its path from the build's top with "/".
const listed = (folder, prefix) =>
  readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return listed(path, `${prefix}${name}/`);
    return [`${prefix}${name}`];
  });
const files = listed(staging, "")
  .filter((name) => name !== "sw.js" && !name.endsWith(".php"))
  .sort();
if (!files.includes("index.html")) fail("no index.html in the build");
if (!files.some((name) => name.endsWith(".wasm"))) fail("no WebAssembly in the build");
const odd = files.find((name) => !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name));
if (odd) fail(`a file name the worker would have to escape: ${odd}`);

const hash = createHash("sha256");
for (const name of files) {
  hash.update(name + "\0");
  hash.update(readFileSync(join(staging, name)));
}
const version = hash.digest("hex").slice(0, 16);

const templatePath = join(source, "web", "sw.js");
let worker;
try {
  worker = readFileSync(templatePath, "utf8");
} catch (error) {
  fail(`cannot read ${templatePath}: ${error.message}`);
}
for (const placeholder of ["__BLEEP_VERSION__", "__BLEEP_FILES__"]) {
  if (worker.split(placeholder).length !== 2) fail(`web/sw.js must hold ${placeholder} exactly once`);
}
worker = worker
  .replace("__BLEEP_VERSION__", version)
  .replace("__BLEEP_FILES__", JSON.stringify(files));
if (process.env.TRUNK_PROFILE === "release") {
  const minify = loadMinify(source, fail);
  let result;
  try {
    result = await minify(worker, { ecma: 2020, compress: { passes: 2 } });
  } catch (error) {
    fail(`terser cannot minify sw.js: ${error.message ?? error}`);
  }
  if (!result.code || !result.code.includes(version)) fail("terser lost the worker's version");
  worker = result.code;
}
writeFileSync(join(staging, "sw.js"), worker);

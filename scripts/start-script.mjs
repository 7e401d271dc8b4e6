// Trunk post-build hook (Trunk.toml): moves every inline script of
// index.html into a file of its own: the start-up script that Trunk writes
// (a `<script type="module">` that imports the wasm-bindgen glue and starts
// the wasm) into `start-<hash>.js`, and index.html's own check for a browser
// too old for the app into `script-<hash>.js`, each loaded with `src=`.
//
// Why: with no inline script in the page, the Content-Security-Policy of a
// deployment (deploy/nginx-site.conf) can say `script-src 'self'` without
// 'unsafe-inline', so a script that an attacker manages to put into the
// page's markup does not run. The file's name carries a hash of its content
// like Trunk's other files, so it may be cached for a long time.
//
// The build fails, rather than ships a page that does not start, if the
// staging folder has no index.html, or the page does not hold exactly one
// inline module script (Trunk's start-up), or an inline script is empty.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const fail = (text) => {
  console.error(`start-script: ${text}`);
  process.exit(1);
};

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) fail("TRUNK_STAGING_DIR is not set (run by Trunk only)");

const pagePath = join(staging, "index.html");
let page;
try {
  page = readFileSync(pagePath, "utf8");
} catch (error) {
  fail(`cannot read ${pagePath}: ${error.message}`);
}

// Every <script> element without a src attribute (attributes may be quoted
// or not: Trunk's release build minifies the HTML).
const inline = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter(
  ([, attributes]) => !/\bsrc\s*=/i.test(attributes),
);
const isModule = (attributes) => /\btype\s*=\s*["']?module["']?/i.test(attributes);
const starts = inline.filter(([, attributes]) => isModule(attributes));
if (starts.length !== 1) {
  fail(`expected one inline module script (Trunk's start-up) in index.html, found ${starts.length}`);
}

// Each goes into its own file, in the same place and with the same
// attributes: a classic script still runs where it stood, before the page
// goes on; a module still runs once the page is read.
for (const [element, attributes, code] of inline) {
  if (!code.trim()) fail(`an empty inline script in index.html: <script${attributes}>`);
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const name = `${isModule(attributes) ? "start" : "script"}-${hash}.js`;
  writeFileSync(join(staging, name), code.trim() + "\n");
  page = page.replace(element, `<script${attributes} src="./${name}"></script>`);
}
writeFileSync(pagePath, page);

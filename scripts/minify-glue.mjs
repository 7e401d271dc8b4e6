// Trunk post-build hook (Trunk.toml): minifies the JavaScript glue that
// wasm-bindgen writes beside the wasm, in release builds only, with terser
// from .bleep/tools (scripts/setup installs it). The glue is about 47 KB of
// readable code; minified it is about 2 KB less over the wire (gzip).
//
// Trunk has already written the page with a subresource-integrity hash of
// each file, so the hash of the glue is replaced by that of the minified file.

import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error("minify-glue: TRUNK_STAGING_DIR is not set (run by Trunk only)");
  process.exit(1);
}
if (process.env.TRUNK_PROFILE !== "release") {
  process.exit(0);
}

const tools = join(process.env.TRUNK_SOURCE_DIR || process.cwd(), ".bleep", "tools", "package.json");
const { minify } = createRequire(tools)("terser");

const integrity = (bytes) => "sha384-" + createHash("sha384").update(bytes).digest("base64");

const page = join(staging, "index.html");
let html = readFileSync(page, "utf8");
for (const name of readdirSync(staging).filter((f) => f.endsWith(".js"))) {
  const path = join(staging, name);
  const source = readFileSync(path);
  const result = await minify(source.toString("utf8"), {
    module: true,
    compress: { passes: 2 },
    mangle: true,
  });
  if (!result.code) {
    console.error(`minify-glue: terser returned nothing for ${name}`);
    process.exit(1);
  }
  writeFileSync(path, result.code);
  html = html.split(integrity(source)).join(integrity(Buffer.from(result.code)));
  console.log(`minify-glue: ${name}: ${source.length} -> ${result.code.length} bytes`);
}
writeFileSync(page, html);

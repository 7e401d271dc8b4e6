// Trunk post-build hook (Trunk.toml), release builds only: minifies the
// JavaScript glue that wasm-bindgen wrote, with terser (about 2 KB gzip
// less). Trunk's own JS minifier cannot parse that glue and ships it as it
// is, with a warning.
//
// Nothing here depends on how wasm-bindgen lays out its glue: terser reads
// any JavaScript module, and the module's exports (what Trunk's loader
// calls) keep their names. The build fails if the staging folder has no
// glue or terser cannot minify it. Terser comes from .bleep/tools
// (scripts/setup installs it).

import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const fail = (text) => {
  console.error(`minify-glue: ${text}`);
  process.exit(1);
};

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) fail("TRUNK_STAGING_DIR is not set (run by Trunk only)");
if (process.env.TRUNK_PROFILE !== "release") process.exit(0);

const tools = join(process.env.TRUNK_SOURCE_DIR || process.cwd(), ".bleep", "tools");
let minify;
try {
  ({ minify } = createRequire(join(tools, "package.json"))("terser"));
} catch (error) {
  fail(`terser is not in ${tools} (run scripts/setup): ${error.message}`);
}

// The glue is the module beside each wasm file: `name.js` for `name_bg.wasm`.
const names = readdirSync(staging)
  .filter((file) => file.endsWith("_bg.wasm"))
  .map((file) => file.replace(/_bg\.wasm$/, ".js"));
if (names.length === 0) fail(`no wasm-bindgen output in ${staging}`);

for (const name of names) {
  const path = join(staging, name);
  let glue;
  try {
    glue = readFileSync(path, "utf8");
  } catch (error) {
    fail(`no glue ${name} beside its wasm: ${error.message}`);
  }
  let result;
  try {
    result = await minify(glue, {
      module: true,
      ecma: 2020,
      compress: { passes: 2 },
      mangle: true,
    });
  } catch (error) {
    fail(`terser cannot minify ${name}: ${error.message ?? error}`);
  }
  if (!result.code) fail(`terser returned nothing for ${name}`);
  writeFileSync(path, result.code);
  console.log(`minify-glue: ${name}: ${glue.length} -> ${result.code.length} bytes`);
}

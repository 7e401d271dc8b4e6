// terser, for the release build's hooks (scripts/minify-release.mjs and
// scripts/offline-shell.mjs), and acorn, the JavaScript parser the first one
// reads the glue with (scripts/unused-classes.mjs): scripts/setup installs
// them with npm into .bleep/tools of the source folder, outside
// node_modules' usual places, so they are loaded from there by path.

import { createRequire } from "node:module";
import { join } from "node:path";

// terser's `minify`, or `fail` with what to run when it is not installed.
export function loadMinify(source, fail) {
  return load(source, "terser", fail).minify;
}

// acorn (its `parse`), or `fail` likewise.
export function loadAcorn(source, fail) {
  return load(source, "acorn", fail);
}

function load(source, name, fail) {
  const tools = join(source, ".bleep", "tools");
  try {
    return createRequire(join(tools, "package.json"))(name);
  } catch (error) {
    return fail(`${name} is not in ${tools} (run scripts/setup): ${error.message}`);
  }
}

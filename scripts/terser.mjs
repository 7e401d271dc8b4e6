// terser, for the release build's hooks (scripts/minify-release.mjs and
// scripts/offline-shell.mjs): scripts/setup installs it with npm into
// .bleep/tools of the source folder, outside node_modules' usual places,
// so it is loaded from there by path.

import { createRequire } from "node:module";
import { join } from "node:path";

// terser's `minify`, or `fail` with what to run when it is not installed.
export function loadMinify(source, fail) {
  const tools = join(source, ".bleep", "tools");
  try {
    return createRequire(join(tools, "package.json"))("terser").minify;
  } catch (error) {
    return fail(`terser is not in ${tools} (run scripts/setup): ${error.message}`);
  }
}

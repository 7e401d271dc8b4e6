// Trunk post-build hook (Trunk.toml), release builds only: makes the files
// that wasm-bindgen and wasm-opt wrote smaller, then puts their new
// integrity hashes in the page (Trunk wrote it with the old ones).
//
// 1. Classes nobody uses. Leptos links server_fn, and server_fn links
//    wasm-streams, whose `#[wasm_bindgen]` classes (IntoUnderlyingSource,
//    IntoUnderlyingSink, IntoUnderlyingByteSource) wasm-bindgen exports from
//    any app that links them. Bleep has no server functions and never makes
//    one. An export is a root for every optimiser, so their code stays in the
//    wasm until the exports go: the glue drops the classes, the wasm drops
//    every export the glue no longer calls, and wasm-opt drops what only
//    those reached (about 2 KB gzip in all). Bleep exports no class of its
//    own, so every exported class of the glue goes.
// 2. Short names. wasm-bindgen names every import after its JS function and
//    a 16-digit hash (`__wbg_appendChild_dbf7ad2f48413560`), and the glue
//    spells each name again: about 150 of them, and hashes do not compress.
//    wasm-opt renames the imports, their module and the exports to one or two
//    letters and prints the renaming, which the glue then follows (about
//    4 KB gzip less).
// 3. Custom sections go (the producers of the wasm, its target features,
//    wasm-split's marker): browsers ignore them.
// 4. The glue is minified with terser (about 2 KB gzip less).
//
// The glue is wasm-bindgen's output at the version Cargo.lock pins. If its
// shape is not the one expected, step 1 is skipped with a warning; after it,
// the glue and the wasm are checked against each other (every export the
// glue calls, every import the wasm needs) and the build fails if they
// disagree, so a broken pair is never shipped.
//
// Tools come from .bleep/tools (scripts/setup installs them): terser, and
// wasm-opt from binaryen.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error("trim-release: TRUNK_STAGING_DIR is not set (run by Trunk only)");
  process.exit(1);
}
if (process.env.TRUNK_PROFILE !== "release") {
  process.exit(0);
}

const tools = join(process.env.TRUNK_SOURCE_DIR || process.cwd(), ".bleep", "tools");
const { minify } = createRequire(join(tools, "package.json"))("terser");
const wasmOpt = join(tools, "node_modules", ".bin", "wasm-opt");
// The features index.html gives Trunk's own wasm-opt run.
const features = [
  "--enable-bulk-memory", "--enable-bulk-memory-opt", "--enable-nontrapping-float-to-int",
  "--enable-sign-ext", "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue",
];

const integrity = (bytes) => "sha384-" + createHash("sha384").update(bytes).digest("base64");
const say = (text) => console.log(`trim-release: ${text}`);

/** The glue without its exported classes, and their names. */
function withoutClasses(glue) {
  const names = [...glue.matchAll(/^export class (\w+) \{$/gm)].map((m) => m[1]);
  let out = glue;
  for (const name of names) {
    // The class, to the first closing brace at the start of a line.
    const start = out.indexOf(`export class ${name} {\n`);
    const end = out.indexOf("\n}\n", start);
    if (start < 0 || end < 0) return null;
    out = out.slice(0, start) + out.slice(end + 3);
    // Its `Symbol.dispose` alias and its finalization registry.
    const dispose = `if (Symbol.dispose) ${name}.prototype[Symbol.dispose] = ${name}.prototype.free;\n`;
    const registry = new RegExp(
      `^const ${name}Finalization = \\(typeof FinalizationRegistry === 'undefined'\\)\\n` +
        `    \\? \\{ register: \\(\\) => \\{\\}, unregister: \\(\\) => \\{\\} \\}\\n` +
        `    : new FinalizationRegistry\\(ptr => wasm\\.(\\w+)\\(ptr(?: >>> 0)?, 1\\)\\);\\n`,
      "m",
    );
    if (!out.includes(dispose) || !registry.test(out)) return null;
    out = out.replace(dispose, "").replace(registry, "");
    if (new RegExp(`\\b${name}\\b`).test(out)) return null;
  }
  return { glue: out, classes: names };
}

/** The import entries of the glue (`name: function(...) {...},`) the wasm no longer imports go. */
function withoutImports(glue, needed) {
  return glue.replace(
    /^ {8}(\w+): function\([^)]*\) \{\n[\s\S]*?^ {8}\},\n/gm,
    (entry, name) => (needed.has(name) ? entry : ""),
  );
}

/** `bytes` without the wasm's custom sections (id 0). */
function withoutCustomSections(bytes) {
  const leb = (at) => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return [value, at];
  };
  const kept = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const [size, body] = leb(at + 1);
    if (bytes[at] !== 0) kept.push(bytes.subarray(at, body + size));
    at = body + size;
  }
  return Buffer.concat(kept);
}

/** The import modules the glue provides: the keys of the object `__wbg_get_imports` returns. */
const MODULES = /^ {4}return \{\n {8}__proto__: null,\n((?: {8}"[^"]+": \w+,\n)+) {4}\};\n/m;

/** Names of the exports the glue calls (`wasm.name`). */
const calledExports = (glue) => new Set([...glue.matchAll(/\bwasm\.([\w$]+)/g)].map((m) => m[1]));

/** Fails the build if the glue calls an export the wasm lacks, or lacks an import it needs. */
function check(glue, wasmBytes) {
  const module = new WebAssembly.Module(wasmBytes);
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const provided = new Set([...glue.matchAll(/^ {8}([\w$]+):/gm)].map((m) => m[1]));
  const modules = new Set([...(glue.match(MODULES)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]));
  const missingExports = [...calledExports(glue)].filter((name) => !exported.has(name));
  const missingImports = WebAssembly.Module.imports(module)
    .filter((i) => i.kind === "function" && !(provided.has(i.name) && modules.has(i.module)))
    .map((i) => `${i.module}.${i.name}`);
  if (missingExports.length || missingImports.length) {
    console.error(`trim-release: glue and wasm disagree: exports ${missingExports}, imports ${missingImports}`);
    process.exit(1);
  }
}

/**
 * Renames the wasm's imports, their module and its exports to short names
 * (in place) and the glue to match. Returns the new glue and wasm, or null
 * (wasm untouched) if the glue is not of the shape expected.
 */
function withShortNames(glue, wasmPath) {
  const modules = glue.match(MODULES);
  if (!modules || modules[1].split("\n").length !== 2) return null;
  const renaming = JSON.parse(
    execFileSync(wasmOpt, [...features, wasmPath, "-o", wasmPath, "--minify-imports-and-exports-and-modules"], {
      encoding: "utf8",
    }),
  );
  const imports = new Map(renaming.imports.map(([, name, short]) => [name, short]));
  const exports = new Map(renaming.exports);
  const wasm = readFileSync(wasmPath);
  const module = WebAssembly.Module.imports(new WebAssembly.Module(wasm))[0]?.module ?? "a";
  const renamed = glue
    .replace(/^( {8})([\w$]+):/gm, (entry, indent, name) => (imports.has(name) ? `${indent}${imports.get(name)}:` : entry))
    .replace(/\bwasm\.([\w$]+)/g, (use, name) => (exports.has(name) ? `wasm.${exports.get(name)}` : use))
    .replace(modules[0], modules[0].replace(/"[^"]+"/, JSON.stringify(module)));
  return { glue: renamed, wasm };
}

const page = join(staging, "index.html");
let html = readFileSync(page, "utf8");
for (const name of readdirSync(staging).filter((f) => f.endsWith(".js"))) {
  const jsPath = join(staging, name);
  const wasmPath = join(staging, name.replace(/\.js$/, "_bg.wasm"));
  const oldGlue = readFileSync(jsPath);
  const oldWasm = readFileSync(wasmPath);
  let glue = oldGlue.toString("utf8");
  let wasm = oldWasm;

  const trimmed = withoutClasses(glue);
  if (trimmed) {
    glue = trimmed.glue;
    say(`${name}: dropped ${trimmed.classes.join(", ") || "no class"}`);
  } else {
    say(`${name}: not the glue this script knows; exported classes kept`);
  }
  // Every export the glue does not call goes, then -Oz again drops the code
  // only those reached, and the glue the imports that code alone needed.
  const called = calledExports(glue);
  const unused = WebAssembly.Module.exports(new WebAssembly.Module(wasm))
    .map((e) => e.name)
    .filter((export_) => !called.has(export_));
  if (unused.length) {
    execFileSync(
      wasmOpt,
      [...features, wasmPath, "-o", wasmPath, "--remove-exports", `--pass-arg=remove-exports@${unused.join(",")}`, "-Oz"],
      { stdio: "inherit" },
    );
    wasm = readFileSync(wasmPath);
    const imported = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).map((i) => i.name);
    glue = withoutImports(glue, new Set(imported));
    say(`${name}: dropped ${unused.length} unused exports; wasm ${oldWasm.length} -> ${wasm.length} bytes`);
  }
  check(glue, wasm);

  const short = withShortNames(glue, wasmPath);
  if (short) {
    say(`${name}: short import and export names; wasm ${wasm.length} -> ${short.wasm.length} bytes`);
    ({ glue, wasm } = short);
  } else {
    say(`${name}: not the glue this script knows; long names kept`);
  }
  wasm = withoutCustomSections(wasm);
  writeFileSync(wasmPath, wasm);
  check(glue, wasm);

  const result = await minify(glue, {
    module: true,
    ecma: 2020,
    compress: { passes: 2, unsafe_arrows: true },
    mangle: true,
  });
  if (!result.code) {
    console.error(`trim-release: terser returned nothing for ${name}`);
    process.exit(1);
  }
  writeFileSync(jsPath, result.code);
  say(`${name}: glue ${oldGlue.length} -> ${result.code.length} bytes`);
  html = html.split(integrity(oldGlue)).join(integrity(Buffer.from(result.code)));
  html = html.split(integrity(oldWasm)).join(integrity(wasm));
}
writeFileSync(page, html);

// Trunk post-build hook (Trunk.toml), release builds only: takes a
// library's unused classes out of the JavaScript glue that wasm-bindgen
// wrote, and out of the wasm what only they called
// (scripts/unused-classes.mjs); minifies the glue with terser; and gives
// the names through which the glue and the wasm call each other (the wasm's
// imports and exports) one- or two-letter names in both files.
//
// Why the names: wasm-bindgen names each import after its JavaScript
// function plus a 16-digit hash (`__wbg_createElement_de4a31ed2fb252be`),
// and each name is written twice, in the glue and in the wasm. Hashes do
// not compress: the names are about 5 KB of the gzipped download.
//
// Nothing here depends on how wasm-bindgen lays out its glue:
// - which names to shorten is read from the wasm itself (its import and
//   export sections, through `WebAssembly.Module.imports/exports`);
// - terser renames them wherever the glue uses them as property names
//   (`import0.NAME = ...`, `{ NAME: function ... }`, `wasm.NAME(...)`), with
//   its documented property mangling restricted to exactly those names, and
//   reports the renaming it chose (its name cache);
// - the wasm's import and export sections are rewritten with that renaming,
//   following the WebAssembly binary format (every other byte is copied).
// The build fails, rather than ships something broken, if the staging
// folder has no glue, terser cannot run, a renamed name still occurs in the
// minified glue in any form (the glue reached it some other way than as a
// property), or the rewritten wasm does not have exactly the renamed imports
// and exports. Names terser keeps (it never renames DOM property names such
// as `memory`) stay as they are in both files. Terser comes from
// .bleep/tools (scripts/setup installs it).

import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadAcorn, loadMinify } from "./terser.mjs";
import { dropUnusedClasses } from "./unused-classes.mjs";

// wasm-streams' classes (scripts/unused-classes.mjs says why they can go).
const UNUSED_CLASSES = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];

const fail = (text) => {
  console.error(`minify-release: ${text}`);
  process.exit(1);
};

const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) fail("TRUNK_STAGING_DIR is not set (run by Trunk only)");
if (process.env.TRUNK_PROFILE !== "release") process.exit(0);

const source = process.env.TRUNK_SOURCE_DIR || process.cwd();
const minify = loadMinify(source, fail);
const acorn = loadAcorn(source, fail);

// The glue is the module beside each wasm file: `name.js` for `name_bg.wasm`.
const wasms = readdirSync(staging).filter((file) => file.endsWith("_bg.wasm"));
if (wasms.length === 0) fail(`no wasm-bindgen output in ${staging}`);

for (const wasmName of wasms) {
  const name = wasmName.replace(/_bg\.wasm$/, ".js");
  const wholeGlue = read(join(staging, name), "utf8", `no glue ${name} beside its wasm`);
  const wholeWasm = read(join(staging, wasmName), undefined, `cannot read ${wasmName}`);

  // Unused classes out of the glue, then the exports the glue no longer
  // names out of the wasm, with the code only they reached.
  let trimmed;
  try {
    trimmed = dropUnusedClasses(wholeGlue, UNUSED_CLASSES, acorn);
  } catch (error) {
    fail(`cannot read ${name} as a JavaScript module: ${error.message ?? error}`);
  }
  const glue = trimmed.glue;
  const unusedExports = WebAssembly.Module.exports(new WebAssembly.Module(wholeWasm))
    .map((e) => e.name)
    .filter((n) => !glue.includes(n));
  const wasm = unusedExports.length === 0 ? wholeWasm : withoutExports(wholeWasm, unusedExports, wasmName);

  const linked = linkNames(wasm, wasmName);
  const escaped = linked.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const nameCache = {};
  let result;
  try {
    result = await minify(glue, {
      module: true,
      ecma: 2020,
      compress: { passes: 2 },
      mangle: { properties: { regex: new RegExp(`^(?:${escaped.join("|")})$`) } },
      nameCache,
    });
  } catch (error) {
    fail(`terser cannot minify ${name}: ${error.message ?? error}`);
  }
  if (!result.code) fail(`terser returned nothing for ${name}`);

  // terser's name cache: "$old" -> new, for every property it renamed.
  const renamed = new Map();
  for (const [key, short] of Object.entries(nameCache.props?.props ?? {})) {
    const old = key.slice(1);
    if (!linked.includes(old)) fail(`terser renamed ${old}, which the wasm does not link`);
    renamed.set(old, short);
  }
  if (renamed.size === 0) fail(`terser renamed none of the wasm's ${linked.length} names in ${name}`);
  for (const old of renamed.keys()) {
    if (result.code.includes(old)) {
      fail(`${old} still occurs in the minified ${name}: the glue reaches it other than as a property`);
    }
  }

  const shortened = renameLinks(wasm, renamed, wasmName);
  checkLinks(wasm, shortened, renamed, wasmName);
  writeFileSync(join(staging, name), result.code);
  writeFileSync(join(staging, wasmName), shortened);
  console.log(
    `minify-release: ${name}: ${wholeGlue.length} -> ${result.code.length} bytes` +
      ` (classes taken out: ${trimmed.dropped.join(", ") || "none"}); ` +
      `${wasmName}: ${wholeWasm.length} -> ${shortened.length} bytes (${unusedExports.length} unused exports` +
      ` taken out, ${renamed.size} of ${linked.length} names shortened)`,
  );
}

function read(path, encoding, why) {
  try {
    return readFileSync(path, encoding);
  } catch (error) {
    fail(`${why}: ${error.message}`);
  }
}

/**
 * `bytes` without the exports named in `names`, then optimised again
 * (`wasm-opt -Os`, with the WebAssembly features index.html gives Trunk's
 * own wasm-opt): the code only those exports reached goes, and what called
 * into it is simplified.
 */
function withoutExports(bytes, names, file) {
  const cut = renameLinks(bytes, new Map(names.map((n) => [n, null])), file);
  const page = read(join(source, "index.html"), "utf8", "no index.html in the source folder");
  const features = page.match(/--enable-[a-z-]+/g) ?? [];
  const path = join(staging, `unused-exports-${file}`);
  writeFileSync(path, cut);
  try {
    execFileSync("wasm-opt", [...features, "-Os", "--strip-target-features", path, "-o", path], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    return readFileSync(path);
  } catch (error) {
    return fail(`wasm-opt could not optimise ${file} without its unused exports: ${error.message}`);
  } finally {
    rmSync(path, { force: true });
  }
}

/** The names of the wasm's imports and exports (without duplicates). */
function linkNames(bytes, file) {
  let module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (error) {
    fail(`${file} is not a WebAssembly module this Node can read: ${error.message}`);
  }
  const names = [
    ...WebAssembly.Module.imports(module).map((i) => i.name),
    ...WebAssembly.Module.exports(module).map((e) => e.name),
  ];
  return [...new Set(names)];
}

/** Checks that `after` links exactly what `before` did, renamed. */
function checkLinks(before, after, renamed, file) {
  const links = (bytes) => {
    const module = new WebAssembly.Module(bytes);
    return [
      ...WebAssembly.Module.imports(module).map((i) => `import ${i.module} ${i.name} ${i.kind}`),
      ...WebAssembly.Module.exports(module).map((e) => `export ${e.name} ${e.kind}`),
    ];
  };
  let got;
  try {
    got = links(after);
  } catch (error) {
    fail(`the renamed ${file} does not load: ${error.message}`);
  }
  const want = links(before).map((line) => {
    const parts = line.split(" ");
    const at = parts[0] === "import" ? 2 : 1;
    parts[at] = renamed.get(parts[at]) ?? parts[at];
    return parts.join(" ");
  });
  if (got.join("\n") !== want.join("\n")) fail(`the renamed ${file} does not link what it should`);
}

/**
 * `bytes` with its import and export names renamed per `renamed` (old ->
 * new; an export whose new name is `null` is left out). Only the import section (id 2) and export section (id 7) are
 * rebuilt; every other section is copied byte for byte.
 */
function renameLinks(bytes, renamed, file) {
  const out = [];
  let at = 8; // magic and version
  out.push(bytes.subarray(0, 8));
  const u32 = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) fail(`${file} ends inside a number`);
      const byte = bytes[at++];
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 28) fail(`${file} has an overlong number at byte ${at}`);
    }
  };
  const leb = (value) => {
    const encoded = [];
    do {
      let byte = value & 0x7f;
      value >>>= 7;
      if (value !== 0) byte |= 0x80;
      encoded.push(byte);
    } while (value !== 0);
    return Uint8Array.from(encoded);
  };
  const name = () => {
    const length = u32();
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at, at + length));
    at += length;
    return text;
  };
  const writeName = (parts, text) => {
    const encoded = new TextEncoder().encode(renamed.get(text) ?? text);
    parts.push(leb(encoded.length), encoded);
  };
  const limits = () => {
    const flags = bytes[at++];
    if (flags > 0x07) fail(`${file}: unknown limits flags ${flags}`);
    u32();
    if (flags & 1) u32();
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const start = at;
    const end = start + size;
    if (id !== 2 && id !== 7) {
      out.push(Uint8Array.of(id), leb(size), bytes.subarray(start, end));
      at = end;
      continue;
    }
    const parts = [];
    const count = u32();
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const entry = [];
      if (id === 2) {
        writeName(entry, name()); // module (never in `renamed`: names only)
        writeName(entry, name());
      } else {
        const text = name();
        // `null`: the export goes (withoutExports).
        if (renamed.get(text) !== null) writeName(entry, text);
        else entry.dropped = true;
      }
      const descStart = at;
      const kind = bytes[at++];
      if (id === 7) {
        u32();
      } else if (kind === 0x00) {
        u32(); // function type
      } else if (kind === 0x01) {
        at++; // reference type
        limits();
      } else if (kind === 0x02) {
        limits();
      } else if (kind === 0x03) {
        at += 2; // value type, mutability
      } else if (kind === 0x04) {
        at++; // tag attribute
        u32();
      } else {
        fail(`${file}: unknown import kind ${kind}`);
      }
      if (entry.dropped) continue;
      entry.push(bytes.subarray(descStart, at));
      parts.push(...entry);
      kept++;
    }
    if (at !== end) fail(`${file}: section ${id} is not the size it says`);
    const body = concat([leb(kept), ...parts]);
    out.push(Uint8Array.of(id), leb(body.length), body);
  }
  return concat(out);
}

function concat(parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

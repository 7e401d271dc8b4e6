// For the release hook (scripts/minify-release.mjs): takes out of the
// wasm-bindgen glue the JavaScript classes of a library that Bleep never
// uses, so that the glue no longer calls the wasm's exports behind them and
// those exports, with the code only they reach, can leave the wasm.
//
// Which classes: wasm-streams, which Leptos links for its server functions,
// exports three classes to JavaScript (`IntoUnderlyingSource`,
// `IntoUnderlyingByteSource`, `IntoUnderlyingSink`) that turn a Rust stream
// into a JavaScript one. Bleep has no server functions and makes no streams:
// they are about 2 KB of the gzipped download that nothing runs. An
// exported class can only be reached by the page (whose start-up script uses
// the glue's `init` and nothing else from it) or by the glue itself, when the
// wasm hands such an object to JavaScript: then a function in the glue names
// the class. So the classes are named here, and each is kept if any function
// of the glue names it.
//
// How, on the syntax tree (acorn, from .bleep/tools; scripts/setup installs
// it), not on the text's layout:
// - a class's declaration goes, with every top-level statement that names it
//   outside any function, as long as each is a plain expression or `if`
//   statement (wasm-bindgen's `X.prototype[Symbol.dispose] = ...`);
//   anything else naming it keeps the class;
// - then, until nothing changes, every top-level `const` that only the
//   removed statements named (the classes' FinalizationRegistry).

const FUNCTIONS = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
]);

/**
 * `glue` without the classes in `names` that nothing in it uses, and the
 * names of the classes taken out.
 */
export function dropUnusedClasses(glue, names, acorn) {
  const program = acorn.parse(glue, { ecmaVersion: "latest", sourceType: "module" });
  const statements = program.body.map((node) => ({ node, uses: namesUsed(node) }));
  const removed = new Set();
  const dropped = [];

  for (const name of names) {
    const declaration = statements.find(
      ({ node }) =>
        node.type === "ExportNamedDeclaration" &&
        node.declaration?.type === "ClassDeclaration" &&
        node.declaration.id.name === name,
    );
    if (!declaration) continue;
    const about = statements.filter((s) => s !== declaration && s.uses.all.has(name));
    const removable = about.every(
      (s) =>
        !s.uses.inFunctions.has(name) &&
        (s.node.type === "ExpressionStatement" || s.node.type === "IfStatement"),
    );
    if (!removable) continue;
    removed.add(declaration);
    for (const s of about) removed.add(s);
    dropped.push(name);
  }

  // Constants that only removed statements used.
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of statements) {
      if (removed.has(s) || s.node.type !== "VariableDeclaration" || s.node.kind !== "const") {
        continue;
      }
      const declared = s.node.declarations.map((d) => d.id.name).filter(Boolean);
      if (declared.length !== s.node.declarations.length) continue;
      const usedBy = (filter) =>
        statements.some((t) => t !== s && filter(t) && declared.some((n) => t.uses.all.has(n)));
      if (usedBy((t) => removed.has(t)) && !usedBy((t) => !removed.has(t))) {
        removed.add(s);
        changed = true;
      }
    }
  }

  let text = "";
  let at = 0;
  for (const s of statements) {
    if (!removed.has(s)) continue;
    const { node } = s;
    text += glue.slice(at, node.start);
    at = node.end;
  }
  return { glue: text + glue.slice(at), dropped };
}

/** Every identifier a statement names, and those named inside functions. */
function namesUsed(root) {
  const all = new Set();
  const inFunctions = new Set();
  const visit = (node, depth) => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child, depth);
      return;
    }
    if (!node || typeof node.type !== "string") return;
    if (node.type === "Identifier") {
      all.add(node.name);
      if (depth > 0) inFunctions.add(node.name);
    }
    const inner = FUNCTIONS.has(node.type) || node.type === "MethodDefinition" ? depth + 1 : depth;
    for (const key of Object.keys(node)) {
      if (key === "type" || key === "start" || key === "end") continue;
      const child = node[key];
      if (child && typeof child === "object") visit(child, inner);
    }
  };
  visit(root, 0);
  return { all, inFunctions };
}

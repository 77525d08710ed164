// Cold start cost of a wasm module in V8: compile (WebAssembly.compile, as workerd does
// for a Worker's module) and instantiate (with stub imports: no import is called while
// instantiating a wasm-bindgen module that has no start function).
//
//   node bench/wasm-startup.mjs build/index_bg.wasm [--iters 15]
//
// Prints {"bytes","compile_ms","instantiate_ms","imports"}: medians; every iteration
// compiles from the bytes again (V8 caches nothing between WebAssembly.compile calls
// here), so this is the per-isolate cost.
import { readFileSync } from "node:fs";

import { fileURLToPath } from "node:url";

/** Imports that satisfy `module` without doing anything (none is called while instantiating). */
export function stubImports(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    if (imp.kind === "function") imports[imp.module][imp.name] = () => undefined;
    else if (imp.kind === "memory") imports[imp.module][imp.name] = new WebAssembly.Memory({ initial: 17 });
    else if (imp.kind === "table") imports[imp.module][imp.name] = new WebAssembly.Table({ initial: 128, element: "externref" });
    // wasm-bindgen imports the JS exception tag (`__wbindgen_jstag`) for its catch wrappers.
    else if (imp.kind === "tag") imports[imp.module][imp.name] = WebAssembly.JSTag;
    else if (imp.kind === "global") imports[imp.module][imp.name] = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  }
  return imports;
}

// Imported by bench/process.mjs for stubImports: measure only when run as a script.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();

async function main() {
  const args = process.argv.slice(2);
  const file = args[0];
  const iters = args.includes("--iters") ? Number(args[args.indexOf("--iters") + 1]) : 15;
  if (!file) {
    console.error("usage: node bench/wasm-startup.mjs FILE.wasm [--iters N]");
    process.exit(2);
  }
  const bytes = readFileSync(file);

  const median = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    const n = v.length;
    return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };

  const compile = [];
  const instantiate = [];
  let importCount = 0;
  for (let i = 0; i < iters + 2; i++) {
    const t0 = performance.now();
    const module = await WebAssembly.compile(bytes);
    const t1 = performance.now();
    const imports = stubImports(module);
    importCount = WebAssembly.Module.imports(module).length;
    const t2 = performance.now();
    await WebAssembly.instantiate(module, imports);
    const t3 = performance.now();
    if (i >= 2) {
      compile.push(t1 - t0);
      instantiate.push(t3 - t2);
    }
  }
  console.log(JSON.stringify({ bytes: bytes.length, compile_ms: median(compile), instantiate_ms: median(instantiate), imports: importCount, iters }));
}

// Transpiles the tether component into JavaScript with jco (its transpile engine,
// @bytecodealliance/jco-transpile, pinned in package.json), so Node can load it.
//
//   node build.mjs [TETHER.wasm] [--out DIR]
//
// Defaults: $TETHER_WASM, else the workspace build
// (../../target/wasm/wasm32-wasip2/release/tether_component.wasm, made by
// `cargo build -p tether-host`); output in ./dist. The output records the SHA-256 of
// the component it came from (dist/source.json), and a build whose source is
// unchanged does nothing. The transpiled module is instantiated synchronously with
// imports supplied at run time (`--instantiation sync`, no WASI shim): index.js
// supplies every import itself.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT = join(here, 'dist');
export const DEFAULT_WASM = resolve(here, '../../target/wasm/wasm32-wasip2/release/tether_component.wasm');
const SOURCE = 'source.json';
// The `jco transpile --instantiation sync --no-wasi-shim` output: imports are passed
// at instantiation; a `result` error is thrown as a ComponentError with `.payload`.
const OPTIONS = {
  name: 'tether',
  instantiation: 'sync',
  wasiShim: false,
  noComponentErrorWrapping: false,
  emitTypescriptDeclarations: true,
};
const TRANSPILER = '@bytecodealliance/jco-transpile';

// jco's glue reads `process.env.JCO_DEBUG` on every trace point, several times
// per call into the component, and Node's process.env is a slow lookup: half of
// a decision's time. The patch reads it once, when the module loads (set
// JCO_DEBUG before starting Node to see jco's traces). Part of the build's
// identity, so an older dist is rebuilt.
const DEBUG_CHECK = 'if (!globalThis?.process?.env?.JCO_DEBUG) { return; }';
const PATCHES = ['jco-debug-read-once'];

/** The transpiled `tether.js` with the JCO_DEBUG patch applied. */
export function patchGlue(text) {
  if (!text.includes(DEBUG_CHECK)) {
    throw new Error(`jco's output no longer has ${JSON.stringify(DEBUG_CHECK)}: update patchGlue in build.mjs for this jco version`);
  }
  const once = 'const JCO_DEBUG_ONCE = Boolean(globalThis?.process?.env?.JCO_DEBUG);\n';
  const body = text.split(DEBUG_CHECK).join('if (!JCO_DEBUG_ONCE) { return; }');
  // After jco's directive prologue ("use components";), which must stay first.
  const directive = /^("[^"\n]*";\n)*/.exec(body)[0];
  return directive + once + body.slice(directive.length);
}

/** The SHA-256 (hex) of a file's bytes. */
export async function sha256(path) {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** What `dir` was transpiled from ({sha256, bytes, options}), or undefined. */
export async function transpiledFrom(dir) {
  try {
    return JSON.parse(await readFile(join(dir, SOURCE), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Transpile `wasm` into `outDir` unless it already holds that component.
 * Returns {outDir, sha256, fresh}: fresh is true when it transpiled.
 */
export async function build(wasm = process.env.TETHER_WASM || DEFAULT_WASM, outDir = DEFAULT_OUT) {
  const bytes = await readFile(wasm).catch((err) => {
    throw new Error(
      `the tether component ${wasm} cannot be read (${err.code ?? err.message}); ` +
        'build it with `cargo build -p tether-host` or pass its path',
    );
  });
  const digest = createHash('sha256').update(bytes).digest('hex');
  const have = await transpiledFrom(outDir);
  const options = JSON.stringify({ ...OPTIONS, patches: PATCHES });
  if (have?.sha256 === digest && have?.options === options) return { outDir, sha256: digest, fresh: false };

  const { transpileBytes } = await import(TRANSPILER).catch((err) => {
    throw new Error(
      `${TRANSPILER} is not installed in ${here} (${err.message}); ` +
        'run `npm ci` there (scripts/setup does)',
    );
  });
  const { files } = await transpileBytes(bytes, { ...OPTIONS });
  // Write beside, then swap in, so a reader never sees half a build.
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  for (const [name, data] of Object.entries(files)) {
    const path = join(tmp, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, name === 'tether.js' ? patchGlue(Buffer.from(data).toString('utf8')) : data);
  }
  await writeFile(join(tmp, SOURCE), JSON.stringify({ sha256: digest, bytes: bytes.length, options }) + '\n');
  await rm(outDir, { recursive: true, force: true });
  try {
    await rename(tmp, outDir);
  } catch (err) {
    // Another build of the same component got there first: keep its output.
    const now = await transpiledFrom(outDir);
    await rm(tmp, { recursive: true, force: true });
    if (now?.sha256 !== digest || now?.options !== options) throw err;
  }
  return { outDir, sha256: digest, fresh: true };
}

async function main(argv) {
  let wasm;
  let out = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = resolve(argv[++i]);
    else if (argv[i].startsWith('-')) throw new Error(`unknown option ${argv[i]}`);
    else wasm = resolve(argv[i]);
  }
  const { outDir, fresh } = await build(wasm, out);
  if (fresh) process.stderr.write(`tether: transpiled the component into ${outDir}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`build.mjs: ${err.message}\n`);
    process.exitCode = 1;
  });
}

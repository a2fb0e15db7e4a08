/**
 * Loads LiteRT-LM's WebAssembly engine (`@litert-lm/core`) in plain Node,
 * from the installed package's wasm/ folder (never a CDN). The package is
 * written for browsers: its loader calls `importScripts` (or adds a <script>)
 * and reads `self.ModuleFactory`. Defining `globalThis.self` and an
 * `importScripts` that evaluates the emscripten glue as CommonJS is enough;
 * the loader then picks the build this Node supports (the compat/asyncify one
 * on Node 20). Only the engine's child process (main/stages/bundle-runner.ts)
 * calls this: an Aborted() or a wasm out-of-memory must not reach the
 * workbench's own process.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

/** The installed package's folder (its package.json is exported for this). */
export function litertLmPackageDir(): string {
  return path.dirname(require.resolve('@litert-lm/core/package.json'));
}

export function litertLmVersion(): string {
  return (JSON.parse(readFileSync(path.join(litertLmPackageDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

type LiteRtLmModule = typeof import('@litert-lm/core');

let loaded: Promise<{ lm: LiteRtLmModule; heapBytes: () => number; build: string }> | null = null;

/**
 * Loads the wasm once per process. Emscripten's own messages (model loader
 * warnings, Aborted()) go to stderr so stdout stays the JSON-lines channel.
 */
export function loadLiteRtLmInNode(): Promise<{ lm: LiteRtLmModule; heapBytes: () => number; build: string }> {
  loaded ??= (async () => {
    let build = '';
    const g = globalThis as Record<string, unknown>;
    g.self ??= globalThis;
    g.Module = {
      print: (text: string) => process.stderr.write(`${text}\n`),
      printErr: (text: string) => process.stderr.write(`${text}\n`),
    };
    g.importScripts = (url: string) => {
      const file = url.startsWith('file:') ? fileURLToPath(url) : url;
      build = path.basename(file, '.js');
      const glue = vm.compileFunction(readFileSync(file, 'utf8'), ['module', 'exports', 'require', '__filename', '__dirname'], { filename: file });
      const mod: { exports: unknown } = { exports: {} };
      glue(mod, mod.exports, require, file, path.dirname(file));
      g.ModuleFactory = mod.exports;
    };
    const lm = (await import('@litert-lm/core')) as LiteRtLmModule;
    const lib = await lm.loadLiteRtLm(`${path.join(litertLmPackageDir(), 'wasm')}${path.sep}`);
    const wasm = (lib as unknown as { liteRtLmWasm: { HEAPU8: Uint8Array } }).liteRtLmWasm;
    return { lm, heapBytes: () => wasm.HEAPU8.length, build };
  })();
  return loaded;
}

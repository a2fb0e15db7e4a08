/**
 * Runs a .tflite through its signatures with LiteRT.js (`@litertjs/core`:
 * LiteRT's own interpreter and XNNPACK kernels compiled to WebAssembly), in
 * plain Node. This is how the workbench checks a conversion without Python:
 * the emitted model runs in the same kernels a device's CPU path uses, and
 * its logits are compared with a reference.
 *
 * The package targets browsers and workers; its loader needs `self` and
 * `importScripts`. In Node we give it both: `importScripts` evaluates the
 * emscripten glue in this realm as a CommonJS module (so it sets
 * `self.ModuleFactory`), and the wasm is read from the installed package,
 * never from a CDN. Heavy and crash-prone: callers run it in a stage process
 * or a test, never in the engine process.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { WorkbenchError } from '../../common/errors.js';

type LiteRtModule = typeof import('@litertjs/core');
type CompiledModel = Awaited<ReturnType<LiteRtModule['loadAndCompile']>>;

const require = createRequire(import.meta.url);

let loading: Promise<LiteRtModule> | null = null;

/** The folder holding the package's wasm builds. */
export function liteRtWasmDir(): string {
  return path.join(path.dirname(require.resolve('@litertjs/core/package.json')), 'wasm');
}

function installWorkerShim(): void {
  const g = globalThis as Record<string, unknown>;
  if (g.self === undefined) g.self = globalThis;
  if (typeof g.importScripts === 'function') return;
  g.importScripts = (url: string) => {
    const file = url.startsWith('file:') ? new URL(url).pathname : url;
    const code = readFileSync(file, 'utf8');
    const module = { exports: {} as unknown };
    const wrapper = vm.runInThisContext(`(function (module, exports, require, __filename, __dirname) {${code}\n;return module.exports;})`, { filename: file });
    const exported = wrapper(module, module.exports, require, file, path.dirname(file)) as { default?: unknown } | undefined;
    if (g.ModuleFactory === undefined) g.ModuleFactory = exported?.default ?? exported;
  };
}

export function loadLiteRtJs(): Promise<LiteRtModule> {
  loading ??= (async () => {
    installWorkerShim();
    const lrt = await import('@litertjs/core');
    // Loading probes for a WebGPU device (there is no `navigator` in Node) and warns when there is
    // none; the workbench runs on the CPU (wasm) accelerator only, so that one warning is noise.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('Failed to create default WebGPU device')) return;
      warn(...args);
    };
    try {
      await lrt.loadLiteRt(liteRtWasmDir() + path.sep);
    } catch (error) {
      loading = null;
      throw new WorkbenchError('litertjs_unavailable', `LiteRT.js could not start: ${(error as Error).message}`);
    } finally {
      console.warn = warn;
    }
    return lrt;
  })();
  return loading;
}

export type FeedValue = { type: 'int32'; data: Int32Array; shape: number[] } | { type: 'float32'; data: Float32Array; shape: number[] };

/** A compiled model whose signatures can be called with typed arrays by input name. */
export class TfliteModelRunner {
  private constructor(
    private readonly lrt: LiteRtModule,
    private readonly model: CompiledModel,
  ) {}

  static async open(bytes: Uint8Array): Promise<TfliteModelRunner> {
    const lrt = await loadLiteRtJs();
    try {
      const model = await lrt.loadAndCompile(bytes, { accelerator: 'wasm' });
      return new TfliteModelRunner(lrt, model);
    } catch (error) {
      throw new WorkbenchError('tflite_unloadable', `LiteRT could not load the model: ${(error as Error).message}`);
    }
  }

  get signatureNames(): string[] {
    return Object.keys(this.model.signatures);
  }

  inputDetails(signature: string) {
    return this.signature(signature).getInputDetails();
  }

  async run(signature: string, feeds: Record<string, FeedValue>): Promise<Record<string, Float32Array | Int32Array>> {
    const runner = this.signature(signature);
    const inputs: Record<string, InstanceType<LiteRtModule['Tensor']>> = {};
    try {
      for (const [name, feed] of Object.entries(feeds)) inputs[name] = new this.lrt.Tensor(feed.data, feed.shape);
      const outputs = await runner.run(inputs);
      const result: Record<string, Float32Array | Int32Array> = {};
      for (const [name, tensor] of Object.entries(outputs)) {
        result[name] = tensor.toTypedArray() as Float32Array | Int32Array;
        tensor.delete();
      }
      return result;
    } finally {
      for (const tensor of Object.values(inputs)) tensor.delete();
    }
  }

  close(): void {
    this.model.delete();
  }

  private signature(name: string) {
    const runner = this.model.signatures[name];
    if (!runner) throw new WorkbenchError('no_such_signature', `The model has no signature "${name}" (it has ${this.signatureNames.join(', ')}).`);
    return runner;
  }
}

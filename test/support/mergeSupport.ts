/**
 * Shared by the merge tests: bundles the worker thread and the stage script
 * with the same esbuild options as scripts/build.mjs (into a per-process
 * folder under node_modules/.cache, so runtime dependencies resolve), and
 * writes small random base models and PEFT adapters as real safetensors files.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { isAlive } from '../../main/core/process/killTree.js';
import { encodeFromF32, type FloatDtype } from '../../main/core/safetensors/dtypes.js';
import { SafetensorsModelWriter } from '../../main/core/safetensors/writer.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let bundled: Promise<{ root: string; workerScript: string; stageScript: string; cliScript: string }> | undefined;

/**
 * Builds lora-merge.worker.js, stages/merge.js and the CLI once per test process;
 * run them with WORKBENCH_APP_ROOT=root so the runner finds this stage script.
 */
export function bundleMerge(): Promise<{ root: string; workerScript: string; stageScript: string; cliScript: string }> {
  bundled ??= (async () => {
    const cache = path.join(repoRoot, 'node_modules', '.cache');
    const root = path.join(cache, `merge-test-${process.pid}`);
    // Test workers may be killed without an exit event: sweep bundles of processes that are gone.
    for (const name of existsSync(cache) ? readdirSync(cache) : []) {
      const pid = /^merge-test-(\d+)$/.exec(name)?.[1];
      if (pid && Number(pid) !== process.pid && !isAlive(Number(pid))) rmSync(path.join(cache, name), { recursive: true, force: true });
    }
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    const common = {
      bundle: true,
      platform: 'node' as const,
      target: 'node20',
      format: 'esm' as const,
      packages: 'external' as const,
      logLevel: 'warning' as const,
      banner: { js: "import { createRequire as __wbCreateRequire } from 'node:module'; const require = __wbCreateRequire(import.meta.url);" },
    };
    const workerScript = path.join(root, 'dist', 'workers', 'lora-merge.worker.js');
    const stageScript = path.join(root, 'dist', 'stages', 'merge.js');
    const cliScript = path.join(root, 'dist', 'main', 'cli.js');
    await Promise.all([
      build({ ...common, entryPoints: [path.join(repoRoot, 'main/core/merge/lora-merge.worker.ts')], outfile: workerScript }),
      build({ ...common, entryPoints: [path.join(repoRoot, 'main/stages/merge.ts')], outfile: stageScript }),
      build({ ...common, entryPoints: [path.join(repoRoot, 'main/cli/cli.ts')], outfile: cliScript }),
    ]);
    await writeFile(path.join(root, 'package.json'), JSON.stringify({ name: 'convert-workbench', type: 'module' }));
    return { root, workerScript, stageScript, cliScript };
  })();
  return bundled;
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype?: FloatDtype;
  /** Values; random in [-scale, scale) when absent. */
  values?: Float32Array;
  scale?: number;
}

export function tensorBytes(spec: TensorSpec, random: () => number): { dtype: FloatDtype; bytes: Uint8Array } {
  const dtype = spec.dtype ?? 'F32';
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const values = spec.values ?? Float32Array.from({ length: count }, () => (random() * 2 - 1) * (spec.scale ?? 1));
  const bytes = new Uint8Array(count * (dtype === 'F32' ? 4 : 2));
  encodeFromF32(dtype, values, bytes);
  return { dtype, bytes };
}

/** Writes tensors into `dir` as model.safetensors (or shards when maxShardBytes is small). */
export async function writeSafetensors(dir: string, specs: TensorSpec[], seed: number, options: { maxShardBytes?: number; fileName?: string } = {}): Promise<Map<string, { dtype: FloatDtype; bytes: Uint8Array }>> {
  await mkdir(dir, { recursive: true });
  const random = rng(seed);
  const made = new Map(specs.map((s) => [s.name, tensorBytes(s, random)]));
  const writer = SafetensorsModelWriter.create(dir, specs.map((s) => ({ name: s.name, dtype: made.get(s.name)!.dtype, shape: s.shape, byteLength: made.get(s.name)!.bytes.byteLength })), { maxShardBytes: options.maxShardBytes ?? 1 << 30 });
  for (const s of specs) await writer.write(s.name, made.get(s.name)!.bytes);
  await writer.finish();
  if (options.fileName) {
    const { rename } = await import('node:fs/promises');
    await rename(path.join(dir, 'model.safetensors'), path.join(dir, options.fileName));
  }
  return made;
}

/** A small Qwen2-shaped base model and a matching LoRA adapter on q/k/v/o and the MLP. */
export async function writeQwenLikePair(root: string, options: { dtype?: FloatDtype; layers?: number; r?: number; alpha?: number; adapterConfig?: Record<string, unknown>; seed?: number; baseName?: string; maxShardBytes?: number } = {}): Promise<{ baseDir: string; adapterDir: string }> {
  const dtype = options.dtype ?? 'BF16';
  const layers = options.layers ?? 2;
  const r = options.r ?? 4;
  const hidden = 24;
  const kv = 8;
  const inter = 40;
  const vocab = 50;
  const baseDir = path.join(root, options.baseName ?? 'base');
  const adapterDir = path.join(root, 'adapter');
  const base: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden], dtype }];
  const adapter: TensorSpec[] = [];
  const linear: [string, number, number][] = [
    ['self_attn.q_proj', hidden, hidden],
    ['self_attn.k_proj', kv, hidden],
    ['self_attn.v_proj', kv, hidden],
    ['self_attn.o_proj', hidden, hidden],
    ['mlp.gate_proj', inter, hidden],
    ['mlp.up_proj', inter, hidden],
    ['mlp.down_proj', hidden, inter],
  ];
  for (let l = 0; l < layers; l++) {
    for (const [m, out, inp] of linear) {
      const module = `model.layers.${l}.${m}`;
      base.push({ name: `${module}.weight`, shape: [out, inp], dtype, scale: 0.5 });
      if (m.endsWith('_proj') && m.startsWith('self_attn') && m !== 'self_attn.o_proj') base.push({ name: `${module}.bias`, shape: [out], dtype });
      adapter.push({ name: `base_model.model.${module}.lora_A.weight`, shape: [r, inp], scale: 0.3 });
      adapter.push({ name: `base_model.model.${module}.lora_B.weight`, shape: [out, r], scale: 0.3 });
    }
    base.push({ name: `model.layers.${l}.input_layernorm.weight`, shape: [hidden], dtype });
  }
  base.push({ name: 'model.norm.weight', shape: [hidden], dtype }, { name: 'lm_head.weight', shape: [vocab, hidden], dtype });
  await writeSafetensors(baseDir, base, options.seed ?? 1, options.maxShardBytes ? { maxShardBytes: options.maxShardBytes } : {});
  await writeSafetensors(adapterDir, adapter, (options.seed ?? 1) + 1, { fileName: 'adapter_model.safetensors' });
  await writeFile(path.join(baseDir, 'config.json'), JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: hidden, torch_dtype: 'bfloat16' }, null, 2));
  await writeFile(path.join(baseDir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2], temperature: 0.7 }));
  await writeFile(path.join(baseDir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>' }));
  await writeFile(
    path.join(adapterDir, 'adapter_config.json'),
    JSON.stringify({
      peft_type: 'LORA',
      base_model_name_or_path: `Qwen/${options.baseName ?? 'base'}`,
      r,
      lora_alpha: options.alpha ?? 8,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      ...options.adapterConfig,
    }),
  );
  return { baseDir, adapterDir };
}

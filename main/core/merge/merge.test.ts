import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleMerge, writeQwenLikePair } from '../../../test/support/mergeSupport.js';
import { bf16ToF32 } from '../safetensors/dtypes.js';
import { readSafetensorsModel } from '../safetensors/header.js';
import { SafetensorsReader } from '../safetensors/reader.js';
import { mergeLora, type MergeOptions } from './merge.js';

let tmp: string;
let workerScript: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'merge unit '));
  workerScript = (await bundleMerge()).workerScript;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function options(baseDir: string, adapterDir: string, outDir: string, extra: Partial<MergeOptions> = {}): MergeOptions {
  return { baseDir, adapterDir, outDir, shardSizeMiB: 4096, verify: true, allowBaseMismatch: false, threads: 2, workerScript, ...extra };
}

describe('mergeLora', () => {
  it('merges a BF16 Qwen-like model, copies the other files and verifies against float64', async () => {
    const root = path.join(tmp, 'bf16');
    const { baseDir, adapterDir } = await writeQwenLikePair(root, { dtype: 'BF16' });
    const outDir = path.join(root, 'merged');
    const phases = new Set<string>();
    const result = await mergeLora(options(baseDir, adapterDir, outDir, { onProgress: (p) => phases.add(p.phase) }));
    expect(result.tensorsTouched).toBe(14);
    expect(result.scales).toEqual([{ scale: 2, r: 4, alpha: 8, modules: 14 }]);
    expect(result.verify?.ok).toBe(true);
    expect(result.verify?.maxUlpError).toBeLessThanOrEqual(1);
    expect([...phases]).toEqual(['plan', 'merge', 'copy', 'verify', 'done']);
    expect((await readdir(outDir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer_config.json']);
    expect(await readFile(path.join(outDir, 'config.json'), 'utf8')).toBe(await readFile(path.join(baseDir, 'config.json'), 'utf8'));
    const merged = await readSafetensorsModel(outDir);
    const base = await readSafetensorsModel(baseDir);
    expect(merged.tensors.map((t) => [t.entry.name, t.entry.dtype, t.entry.shape.join('x')])).toEqual(base.tensors.map((t) => [t.entry.name, t.entry.dtype, t.entry.shape.join('x')]));
    expect(merged.files[0]!.metadata).toEqual({ format: 'pt' });
    // No partial folder is left next to the output.
    expect((await readdir(root)).filter((n) => n.includes('partial'))).toEqual([]);
    const reader = new SafetensorsReader();
    const q = merged.byName.get('model.layers.0.self_attn.q_proj.weight')!;
    const qBase = base.byName.get('model.layers.0.self_attn.q_proj.weight')!;
    const after = await reader.readTensor(q.file, q.entry);
    const before = await reader.readTensor(qBase.file, qBase.entry);
    const norm = await reader.readTensor(merged.byName.get('model.norm.weight')!.file, merged.byName.get('model.norm.weight')!.entry);
    const normBase = await reader.readTensor(base.byName.get('model.norm.weight')!.file, base.byName.get('model.norm.weight')!.entry);
    await reader.close();
    expect(Buffer.compare(Buffer.from(after), Buffer.from(before))).not.toBe(0);
    expect(Buffer.compare(Buffer.from(norm), Buffer.from(normBase))).toBe(0);
    expect(Number.isFinite(bf16ToF32(new Uint16Array(after.buffer, after.byteOffset, 1)[0]!))).toBe(true);
  });

  it('reads a sharded F16 base and writes one file when it fits the shard size', async () => {
    const root = path.join(tmp, 'sharded');
    const { baseDir, adapterDir } = await writeQwenLikePair(root, { dtype: 'F16', maxShardBytes: 4096 });
    expect((await readSafetensorsModel(baseDir)).files.length).toBeGreaterThan(3);
    const outDir = path.join(root, 'merged');
    const result = await mergeLora(options(baseDir, adapterDir, outDir, { shardSizeMiB: 1 }));
    expect(result.files.map((f) => f.fileName)).toEqual(['model.safetensors']);
    expect(result.verify?.ok).toBe(true);
    const merged = await readSafetensorsModel(outDir);
    expect(merged.tensors.length).toBe(result.tensorsTotal);
    expect((await readdir(outDir)).some((n) => n.startsWith('model-'))).toBe(false);
  });

  it('removes the partial output when cancelled', async () => {
    const root = path.join(tmp, 'cancel');
    const { baseDir, adapterDir } = await writeQwenLikePair(root, { layers: 3 });
    const outDir = path.join(root, 'merged');
    const controller = new AbortController();
    const error = await mergeLora(
      options(baseDir, adapterDir, outDir, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.tensorsDone === 5) controller.abort();
        },
      }),
    ).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('cancelled');
    expect((await readdir(root)).sort()).toEqual(['adapter', 'base']);
  });
});

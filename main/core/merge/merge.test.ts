import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleMerge, writeQwenLikePair, writeSafetensors } from '../../../test/support/mergeSupport.js';
import { bf16ToF32, f32ToBf16 } from '../safetensors/dtypes.js';
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
  return { baseDir, adapterDir, outDir, shardSizeMiB: 4096, verify: true, threads: 2, workerScript, ...extra };
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

  it('converts a modules_to_save replacement larger than one chunk to the base dtype', async () => {
    const root = path.join(tmp, 'modules to save');
    const { baseDir, adapterDir } = await writeQwenLikePair(root, { adapterConfig: { modules_to_save: ['lm_head'] } });
    // Rewrite the adapter with a float32 lm_head of 4.3 M values (more than one 16 MiB float32 chunk).
    const { readSafetensorsHeader } = await import('../safetensors/header.js');
    const header = await readSafetensorsHeader(path.join(adapterDir, 'adapter_model.safetensors'));
    const lmHead = Float32Array.from({ length: 4200 * 1024 }, (_, i) => Math.sin(i) * 0.37);
    await rm(path.join(adapterDir, 'adapter_model.safetensors'));
    await writeSafetensors(adapterDir, [...header.tensors.map((t) => ({ name: t.name, shape: t.shape })), { name: 'base_model.model.lm_head.weight', shape: [4200, 1024], values: lmHead }], 4, { fileName: 'adapter_model.safetensors' });
    const base = await readSafetensorsModel(baseDir);
    const kept = base.tensors.filter((t) => t.entry.name !== 'lm_head.weight').map((t) => ({ name: t.entry.name, shape: t.entry.shape, dtype: 'BF16' as const }));
    await rm(path.join(baseDir, 'model.safetensors'));
    await writeSafetensors(baseDir, [...kept, { name: 'lm_head.weight', shape: [4200, 1024], dtype: 'BF16' as const, values: new Float32Array(4200 * 1024).fill(0.5) }], 5);
    const outDir = path.join(root, 'merged');
    const result = await mergeLora(options(baseDir, adapterDir, outDir));
    expect(result.verify?.ok).toBe(true);
    const merged = await readSafetensorsModel(outDir);
    const out = merged.byName.get('lm_head.weight')!;
    const outReader = new SafetensorsReader();
    const bytes = await outReader.readTensor(out.file, out.entry);
    await outReader.close();
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    let wrong = 0;
    for (let i = 0; i < lmHead.length; i++) if (halves[i] !== f32ToBf16(lmHead[i]!)) wrong += 1;
    expect(wrong).toBe(0);
  });

  it('removes partial folders left by a killed merge into the same output, and only those', async () => {
    const root = path.join(tmp, 'stale');
    const { baseDir, adapterDir } = await writeQwenLikePair(root);
    const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is no longer alive
    const stale = path.join(root, `.merged.partial-${host}-${dead}-0badc0de`);
    const live = path.join(root, `.merged.partial-${host}-${process.pid}-00c0ffee`);
    const otherHost = path.join(root, `.merged.partial-elsewhere-${dead}-12345678`);
    for (const dir of [stale, live, otherHost]) await mkdir(dir);
    await writeFile(path.join(stale, 'model.safetensors.partial'), 'half a model');
    const logs: string[] = [];
    await mergeLora(options(baseDir, adapterDir, path.join(root, 'merged'), { onLog: (_level, text) => logs.push(text) }));
    const left = await readdir(root);
    expect(left).not.toContain(path.basename(stale));
    expect(left).toEqual(expect.arrayContaining([path.basename(live), path.basename(otherHost), 'merged']));
    expect(logs.some((l) => l.includes(stale))).toBe(true);
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

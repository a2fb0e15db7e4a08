import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader, readSafetensorsModel } from './header.js';
import { SafetensorsReader } from './reader.js';
import { encodeShardHeader, planShards, SafetensorsModelWriter, type PlannedTensor } from './writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'st writer '));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const t = (name: string, elements: number): PlannedTensor => ({ name, dtype: 'F32', shape: [elements], byteLength: elements * 4 });

describe('planShards', () => {
  it('starts a new shard when the next tensor would overflow, and gives oversized tensors their own', () => {
    const shards = planShards([t('a', 10), t('b', 10), t('c', 30), t('d', 5)], 80);
    expect(shards.map((s) => s.tensors.map((x) => x.name))).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(shards.map((s) => s.fileName)).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(planShards([t('a', 1)], 1 << 20).map((s) => s.fileName)).toEqual(['model.safetensors']);
  });

  it('pads headers so tensor data starts 8-byte aligned', () => {
    for (const name of ['x', 'xy', 'xyz', 'a-long-tensor-name']) {
      const header = encodeShardHeader([t(name, 3)], { format: 'pt' });
      expect(header.byteLength % 8).toBe(0);
    }
    expect(() => encodeShardHeader([{ name: 'bad', dtype: 'BF16', shape: [3], byteLength: 5 }], null)).toThrow(RangeError);
  });
});

describe('SafetensorsModelWriter', () => {
  it('streams tensors in chunks into shards, then publishes them with a sorted index', async () => {
    const out = path.join(dir, 'sharded');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const tensors = [t('z.weight', 8), t('a.weight', 8), t('m.weight', 4), t('empty', 0)];
    const writer = SafetensorsModelWriter.create(out, tensors, { maxShardBytes: 40, metadata: { source: 'test' } });
    const data = (n: number, fill: number) => new Uint8Array(new Float32Array(n).fill(fill).buffer);
    await writer.write('z.weight', data(8, 1).subarray(0, 12));
    await writer.write('z.weight', data(8, 1).subarray(12));
    // Nothing looks like a model until finish().
    expect((await readdir(out)).every((f) => f.endsWith('.partial'))).toBe(true);
    await writer.write('a.weight', data(8, 2));
    await expect(writer.write('empty', new Uint8Array(0))).rejects.toThrow(/expected m.weight/);
    await writer.write('m.weight', data(4, 3));
    await writer.write('empty', new Uint8Array(0));
    const written = await writer.finish();
    expect(written.map((w) => w.fileName)).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    for (const w of written) expect(w.sha256).toBe(createHash('sha256').update(await readFile(path.join(out, w.fileName))).digest('hex'));
    const index = JSON.parse(await readFile(path.join(out, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(80);
    expect(Object.keys(index.weight_map)).toEqual(['a.weight', 'empty', 'm.weight', 'z.weight']);
    const model = await readSafetensorsModel(out);
    expect(model.files[0]!.metadata).toEqual({ source: 'test', format: 'pt' });
    const reader = new SafetensorsReader();
    const m = model.byName.get('m.weight')!;
    expect([...new Float32Array((await reader.readTensor(m.file, m.entry)).slice().buffer)]).toEqual([3, 3, 3, 3]);
    await reader.close();
    expect((await readdir(out)).some((f) => f.endsWith('.partial'))).toBe(false);
  });

  it('refuses finish() before every tensor was written, and abort() removes its files', async () => {
    const out = path.join(dir, 'aborted');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const writer = SafetensorsModelWriter.create(out, [t('a', 4), t('b', 4)], { maxShardBytes: 1 << 20 });
    await writer.write('a', new Uint8Array(16));
    await expect(writer.finish()).rejects.toThrow(/before tensor b/);
    await writer.abort();
    expect(await readdir(out)).toEqual([]);
  });

  it('writes a single file readable by the strict reader', async () => {
    const out = path.join(dir, 'single');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const writer = SafetensorsModelWriter.create(out, [{ name: 'h', dtype: 'BF16', shape: [2, 3], byteLength: 12 }], { maxShardBytes: 1 << 20 });
    await writer.write('h', new Uint8Array(12).fill(0x3f));
    await writer.finish();
    const header = await readSafetensorsHeader(path.join(out, 'model.safetensors'));
    expect(header.tensors[0]).toMatchObject({ name: 'h', dtype: 'BF16', shape: [2, 3], byteLength: 12 });
    expect(header.dataStart % 8).toBe(0);
  });
});

import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { countParameters, readSafetensorsHeader, readSafetensorsModel } from './header.js';

/** Raw safetensors bytes from a header object and a data block (no validation: tests break it on purpose). */
function rawFile(header: Record<string, unknown>, data: Uint8Array, declaredLength?: number): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(declaredLength ?? json.length));
  return Buffer.concat([len, json, data]);
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<WorkbenchError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkbenchError);
  expect((error as WorkbenchError).code).toBe(code);
  expect((error as WorkbenchError).message.length).toBeGreaterThan(10);
  return error as WorkbenchError;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'st header é '));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readSafetensorsHeader', () => {
  it('reads tensors, metadata and absolute offsets without reading the data', async () => {
    const file = path.join(dir, 'ok.safetensors');
    const header = {
      __metadata__: { format: 'pt' },
      b: { dtype: 'BF16', shape: [2, 3], data_offsets: [16, 28] },
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      empty: { dtype: 'F16', shape: [0, 5], data_offsets: [28, 28] },
      ids: { dtype: 'I64', shape: [1], data_offsets: [28, 36] },
    };
    await writeFile(file, rawFile(header, new Uint8Array(36)));
    const parsed = await readSafetensorsHeader(file);
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect(parsed.tensors.map((t) => t.name)).toEqual(['a', 'b', 'empty', 'ids']);
    const b = parsed.byName.get('b')!;
    expect(b.begin).toBe(parsed.dataStart + 16);
    expect(b.byteLength).toBe(12);
    expect(b.elementCount).toBe(6);
    expect(countParameters(parsed)).toBe(4 + 6 + 0 + 1);
  });

  it('rejects a file shorter than the length field', async () => {
    const file = path.join(dir, 'tiny.safetensors');
    await writeFile(file, Buffer.from([1, 2, 3]));
    await expectCode(readSafetensorsHeader(file), 'safetensors_truncated');
  });

  it('rejects a header length beyond the file', async () => {
    const file = path.join(dir, 'long-header.safetensors');
    await writeFile(file, rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4), 5000));
    await expectCode(readSafetensorsHeader(file), 'safetensors_truncated');
  });

  it('rejects an absurd header length before allocating it', async () => {
    const file = path.join(dir, 'huge-header.safetensors');
    await writeFile(file, rawFile({}, new Uint8Array(0), 2 ** 40));
    await expectCode(readSafetensorsHeader(file), 'safetensors_header_too_large');
  });

  it('rejects a truncated data block', async () => {
    const file = path.join(dir, 'truncated.safetensors');
    const full = rawFile({ a: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, new Uint8Array(32));
    await writeFile(file, full.subarray(0, full.length - 5));
    await expectCode(readSafetensorsHeader(file), 'safetensors_out_of_range');
  });

  it('rejects overlapping tensors', async () => {
    const file = path.join(dir, 'overlap.safetensors');
    const header = {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
    };
    await writeFile(file, rawFile(header, new Uint8Array(24)));
    const error = await expectCode(readSafetensorsHeader(file), 'safetensors_overlap');
    expect(error.message).toContain('a');
  });

  it('rejects a shape that disagrees with the byte length', async () => {
    const file = path.join(dir, 'size.safetensors');
    await writeFile(file, rawFile({ a: { dtype: 'BF16', shape: [3, 3], data_offsets: [0, 16] } }, new Uint8Array(16)));
    await expectCode(readSafetensorsHeader(file), 'safetensors_size_mismatch');
  });

  it('rejects unknown dtypes, bad JSON, non-UTF-8 and non-object headers', async () => {
    const unknown = path.join(dir, 'dtype.safetensors');
    await writeFile(unknown, rawFile({ a: { dtype: 'Q4_K', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)));
    await expectCode(readSafetensorsHeader(unknown), 'safetensors_unknown_dtype');

    const notJson = path.join(dir, 'json.safetensors');
    const text = Buffer.from('{"a": {', 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    await writeFile(notJson, Buffer.concat([len, text]));
    await expectCode(readSafetensorsHeader(notJson), 'safetensors_bad_header');

    const latin1 = path.join(dir, 'utf8.safetensors');
    const bytes = Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]); // {"\xe9":1}
    len.writeBigUInt64LE(BigInt(bytes.length));
    await writeFile(latin1, Buffer.concat([len, bytes]));
    await expectCode(readSafetensorsHeader(latin1), 'safetensors_bad_header');

    const arrayHeader = path.join(dir, 'array.safetensors');
    await writeFile(arrayHeader, rawFile([] as unknown as Record<string, unknown>, new Uint8Array(0)));
    await expectCode(readSafetensorsHeader(arrayHeader), 'safetensors_bad_header');
  });

  it('reports a missing file as not found', async () => {
    await expectCode(readSafetensorsHeader(path.join(dir, 'nope.safetensors')), 'safetensors_not_found');
  });
});

describe('readSafetensorsModel', () => {
  it('reads a sharded folder through its index', async () => {
    const model = path.join(dir, 'sharded model');
    await mkdir(model);
    await writeFile(path.join(model, 'model-00001-of-00002.safetensors'), rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)));
    await writeFile(path.join(model, 'model-00002-of-00002.safetensors'), rawFile({ y: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, new Uint8Array(6)));
    await writeFile(path.join(model, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 14 }, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } }));
    const read = await readSafetensorsModel(model);
    expect(read.sharded).toBe(true);
    expect(read.tensors.map((t) => t.entry.name)).toEqual(['x', 'y']);
    expect(read.totalBytes).toBe(14);
    expect(countParameters(read)).toBe(5);
  });

  it('rejects an index naming a tensor its shard lacks, and shards outside the folder', async () => {
    const model = path.join(dir, 'bad index');
    await mkdir(model);
    await writeFile(path.join(model, 'a.safetensors'), rawFile({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
    await writeFile(path.join(model, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'a.safetensors', z: 'a.safetensors' } }));
    await expectCode(readSafetensorsModel(model), 'safetensors_index_invalid');
    await writeFile(path.join(model, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: '../a.safetensors' } }));
    await expectCode(readSafetensorsModel(model), 'safetensors_index_invalid');
  });

  it('reads a single-file folder and reports an empty folder clearly', async () => {
    const model = path.join(dir, 'single');
    await mkdir(model);
    await expectCode(readSafetensorsModel(model), 'safetensors_not_found');
    await writeFile(path.join(model, 'model.safetensors'), rawFile({ w: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] } }, new Uint8Array(8)));
    const read = await readSafetensorsModel(model);
    expect(read.sharded).toBe(false);
    expect(read.byName.get('w')?.entry.shape).toEqual([2, 2]);
  });
});

import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TfliteSummary } from '../../common/formats.js';
import { writeSyntheticTflite } from '../../../test/support/syntheticTflite.js';
import { resourcesPath } from '../paths.js';
import { parseFbsEnums } from './fbsEnums.js';
import { FbTable, WindowByteBuffer } from './flatbuffer.js';
import { readTflite, readTfliteAt, TFLITE_FIELDS } from './tflite.js';

const FIXTURE = '/work/shared/fixtures/tflite/dummy_embedding_cpu_model.tflite';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tflite-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readTflite', () => {
  it('reads the real fixture: signature, tensors, ops, buffers', () => {
    const summary = readTflite(FIXTURE);
    expect(TfliteSummary.parse(summary)).toEqual(summary);
    expect(summary.signatures).toEqual([
      {
        key: 'serving_default',
        subgraphIndex: 0,
        inputs: [{ name: 'embeddings', type: 'INT32', shape: [1], shapeSignature: null }],
        outputs: [{ name: 'output_0', type: 'FLOAT32', shape: [1, 1, 4, 32], shapeSignature: null }],
      },
    ]);
    expect(summary.sizeBytes).toBe(6064);
    expect(summary.schemaVersion).toBe(3);
    expect(summary.ops).toEqual([{ op: 'GATHER', count: 1 }]);
    expect(summary.metadataNames).toContain('min_runtime_version');
    expect(summary.buffers.externalCount).toBe(0);
    expect(summary.derived).toMatchObject({ kvCacheMaxLen: null, prefillLengths: [], hasDecodeSignature: false, quantScheme: 'float32' });
  });

  it('derives KV-cache length, prefill lengths and dynamic int8 from an LLM-shaped export', async () => {
    const file = path.join(dir, 'llm.tflite');
    await writeSyntheticTflite(file, { layers: 3, kvCacheMaxLen: 4096, prefillLengths: [32, 512], weightType: 'INT8', weightTensors: 5, weightBytesEach: 1000 });
    const summary = readTflite(file);
    expect(summary.signatures.map((s) => s.key)).toEqual(['prefill_32', 'prefill_512', 'decode']);
    const decode = summary.signatures.find((s) => s.key === 'decode')!;
    expect(decode.inputs.find((i) => i.name === 'kv_cache_k_0')).toEqual({ name: 'kv_cache_k_0', type: 'FLOAT32', shape: [1, 4096, 2, 64], shapeSignature: null });
    expect(summary.derived).toMatchObject({ kvCacheMaxLen: 4096, kvCacheLayers: 3, prefillLengths: [32, 512], hasDecodeSignature: true, quantScheme: 'dynamic_int8' });
    // Three subgraphs share five weight buffers: counted once each.
    const int8 = summary.quantization.find((q) => q.type === 'INT8')!;
    expect(int8).toEqual({ type: 'INT8', tensorCount: 15, constantCount: 5, constantBytes: 5000, quantizedCount: 15 });
    expect(summary.ops.map((o) => o.op)).toEqual(expect.arrayContaining(['FULLY_CONNECTED', 'GATHER', 'odml.update_kv_cache', 'STABLEHLO_COMPOSITE']));
    expect(summary.ops.find((o) => o.op === 'FULLY_CONNECTED')?.count).toBe(15);
  });

  it('reads the transposed KV layout and tells the quantization schemes apart', async () => {
    const cases = [
      { options: { kvLayout: 'transposed' as const, kvCacheMaxLen: 1280, weightType: 'INT8' as const, dequantize: true }, scheme: 'weight_only_int8' },
      { options: { weightType: 'INT4' as const }, scheme: 'dynamic_int4' },
      { options: { weightType: 'FLOAT16' as const }, scheme: 'float16' },
      { options: { weightType: 'FLOAT32' as const }, scheme: 'float32' },
    ];
    for (const [i, c] of cases.entries()) {
      const file = path.join(dir, `scheme-${i}.tflite`);
      await writeSyntheticTflite(file, c.options);
      const summary = readTflite(file);
      expect(summary.derived.quantScheme, c.scheme).toBe(c.scheme);
      expect(summary.derived.quantEvidence.length).toBeGreaterThan(20);
      if (i === 0) expect(summary.derived.kvCacheMaxLen).toBe(1280);
    }
  });

  it('reads a multi-GB model with external buffers without reading the weights', async () => {
    const file = path.join(dir, 'external.tflite');
    const written = await writeSyntheticTflite(file, { externalWeightBytes: 3 * 1024 ** 3, weightTensors: 6 });
    const summary = readTflite(file);
    expect(summary.sizeBytes).toBe(written.fileBytes);
    expect(summary.sizeBytes).toBeGreaterThan(2 ** 31);
    expect(summary.buffers.externalCount).toBe(6);
    expect(summary.buffers.externalBytes).toBe(3 * 1024 ** 3);
    expect(summary.buffers.flatbufferBytes).toBe(Math.ceil(written.flatbufferBytes / 16) * 16);
    expect(summary.quantization[0]).toMatchObject({ type: 'INT8', constantCount: 6, constantBytes: 3 * 1024 ** 3 });
  });

  it('reads a model with a huge inline weight by touching only metadata pages', async () => {
    const file = path.join(dir, 'inline.tflite');
    const written = await writeSyntheticTflite(file, { inlineTailBytes: 1536 * 1024 ** 2 });
    const fd = openSync(file, 'r');
    try {
      const summary = readTfliteAt(fd, file, 0, written.fileBytes);
      expect(summary.buffers.inlineBytes).toBeGreaterThanOrEqual(1536 * 1024 ** 2);
      expect(summary.derived.kvCacheMaxLen).toBe(1280);
    } finally {
      closeSync(fd);
    }
    // The same walk over a paged buffer: count what was read.
    const fd2 = openSync(file, 'r');
    try {
      const bb = WindowByteBuffer.fromFile(fd2, 0, written.fileBytes);
      const model = FbTable.root(bb);
      const buffers = model.tables(TFLITE_FIELDS.Model.buffers);
      expect(buffers.at(-1)?.vectorLength(TFLITE_FIELDS.Buffer.data)).toBe(1536 * 1024 ** 2);
      expect(bb.bytesRead).toBeLessThan(1024 * 1024);
    } finally {
      closeSync(fd2);
    }
  });
});

describe('schema agreement', () => {
  it('uses the field ids of resources/schema/schema.fbs', () => {
    const fbs = readFileSync(resourcesPath('schema', 'schema.fbs'), 'utf8').replace(/\/\/[^\n]*/g, '').replace(/\([^)]*\)/g, '');
    for (const [table, fields] of Object.entries(TFLITE_FIELDS)) {
      const body = new RegExp(`\\btable\\s+${table}\\s*\\{([^}]*)\\}`).exec(fbs)?.[1];
      expect(body, table).toBeDefined();
      // Field ids are declaration order; a union field takes two ids (type, value).
      const declared: string[] = [];
      for (const m of body!.matchAll(/(\w+)\s*:\s*([\w.[\]]+)/g)) {
        const [, name, type] = m;
        if (/^(QuantizationDetails|BuiltinOptions|BuiltinOptions2)$/.test(type!)) declared.push(`${name}_type`);
        declared.push(name!);
      }
      for (const [field, id] of Object.entries(fields)) expect(declared[id], `${table}.${field}`).toBe(field);
    }
    const enums = parseFbsEnums(fbs);
    expect(enums.get('TensorType')?.get(17)).toBe('INT4');
    expect(enums.get('BuiltinOperator')?.get(9)).toBe('FULLY_CONNECTED');
  });
});

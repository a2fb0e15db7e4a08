/**
 * The size the workbench predicts for a native conversion (params × bytes per
 * parameter of the recipe: the disk preflight, the plan review, `estimate`
 * and the device-memory column all use it) against the file the converter
 * actually writes, for int8 and both blockwise int4 recipes (packed nibbles
 * plus one float16 scale per block). Stated tolerance: the written file is
 * larger by at most 96 KiB — the flatbuffer of two signatures, the RoPE tables
 * and float32 norms — plus, for int8, 12 bytes per weight row (its float
 * scale and int64 zero point in the header). That is 3–4 % of this
 * 3.4 M-parameter checkpoint and under 0.1 % of a 1.5 B one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readHfFolder } from '../main/core/formats/hfFolder.js';
import { QUANTIZED_BYTES_PER_PARAM, estimateDeviceMemory, modelFactsFromConfig, type ModelFacts } from '../main/core/memory/estimator.js';
import { convertNative } from '../main/core/nativeConvert/convertModel.js';
import type { NativeQuantization } from '../main/core/nativeConvert/decoderGraph.js';
import { writeTinyDecoder } from './support/tinyDecoder.js';

let dir: string;
let modelDir: string;
let facts: ModelFacts;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'native-size-'));
  // Every input dimension a multiple of 128: both block sizes apply.
  modelDir = await writeTinyDecoder(path.join(dir, 'model'), { family: 'llama', layers: 2, hidden: 256, heads: 8, kvHeads: 2, headDim: 32, intermediate: 512, vocab: 4096 });
  const f = modelFactsFromConfig((await readHfFolder(modelDir)).config);
  if ('ok' in f) throw new Error(f.reason);
  facts = f;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('predicted .tflite size matches the written file', () => {
  test.each<NativeQuantization>(['dynamic_int8', 'dynamic_int4_block32', 'dynamic_int4_block128'])('%s: written − predicted ≤ 96 KiB (+ 12 B per int8 row)', async (quantize) => {
    const out = await convertNative({ modelDir, outPath: path.join(dir, `${quantize}.tflite`), quantize, kvCacheMaxLen: 64, prefillSeqLens: [8], kvLayout: 'btnh' });
    const predicted = facts.params * QUANTIZED_BYTES_PER_PARAM[quantize];
    console.log(`${quantize}: predicted ${predicted} B, written ${out.bytes} B (${((out.bytes / predicted - 1) * 100).toFixed(2)} %)`);
    const rows = 2 * 4096 + 2 * (256 + 2 * 64 + 256 + 2 * 512 + 256);
    const allowance = 96 * 1024 + (quantize === 'dynamic_int8' ? 12 * rows : 0);
    expect(out.bytes).toBeGreaterThanOrEqual(predicted);
    expect(out.bytes - predicted).toBeLessThanOrEqual(allowance);
    // The device column counts the same packed weights (int8 and int4 stay packed when loaded).
    expect(estimateDeviceMemory(facts, { kvCacheMaxLen: 64, prefillSeqLens: [8], quantize }).weightsBytes).toBe(predicted);
  }, 120_000);

  test('int4 block 32 is 0.5625 bytes per weight, block 128 0.515625: the files differ by that much', async () => {
    const a = await convertNative({ modelDir, outPath: path.join(dir, 'b32.tflite'), quantize: 'dynamic_int4_block32', kvCacheMaxLen: 64, prefillSeqLens: [8], kvLayout: 'btnh' });
    const b = await convertNative({ modelDir, outPath: path.join(dir, 'b128.tflite'), quantize: 'dynamic_int4_block128', kvCacheMaxLen: 64, prefillSeqLens: [8], kvLayout: 'btnh' });
    // Matrices: embed + lm_head (2 × 4096 × 256) and per layer q, k, v, o, gate, up, down.
    const matrixWeights = 2 * 4096 * 256 + 2 * (256 * 256 + 2 * 64 * 256 + 256 * 256 + 3 * 512 * 256);
    // Buffers are 64-byte aligned: allow one alignment per scale tensor.
    expect(Math.abs(a.bytes - b.bytes - matrixWeights * (2 / 32 - 2 / 128))).toBeLessThan(64 * 16);
  }, 120_000);
});

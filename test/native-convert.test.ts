/**
 * The native converter, verified against an independent reference: tiny
 * random-weight Qwen2, Qwen3 and Llama 3 checkpoints are converted, the
 * emitted .tflite runs in LiteRT's own kernels (LiteRT.js, prefill + decode
 * signatures, KV caches threaded as LiteRT-LM does), and its logits are
 * compared with a plain-PyTorch forward pass (python-env/reference/plain_lm.py)
 * over prefill and 10 decode steps:
 *   - float exports: max |logit error| ≤ 1e-4 against the float reference;
 *   - int8 exports: ≤ 1e-3 against the reference's int8 emulation, and the
 *     greedy token agrees with the float reference at ≥ 90 % of positions;
 *   - blockwise int4 exports (block 32 and 128): ≤ 1e-3 against the
 *     reference's int4 emulation (ai-edge-quantizer's blockwise arithmetic,
 *     XNNPACK's per-row int8 activations); the greedy agreement with the
 *     float reference is printed and only loosely bounded (int4 moves a tiny
 *     random model's logits by tenths).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { convertNative } from '../main/core/nativeConvert/convertModel.js';
import type { KvLayout, NativeQuantization } from '../main/core/nativeConvert/decoderGraph.js';
import { argmax, maxAbsDiff, referenceLogits, tfliteLogits } from './support/referenceLm.js';
import { writeTinyDecoder, type TinyDecoderOptions, type TinyFamily } from './support/tinyDecoder.js';

const PROMPT = [3, 17, 42, 99, 7, 128, 64, 200, 11, 5, 250, 31];
const STEPS = 11; // the last prompt token's logits + 10 decode steps

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'native-convert-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  family: TinyFamily;
  quantize: NativeQuantization;
  kvLayout: KvLayout;
  prefill: number[];
  /** Source dtype (BF16 by default) and sharding of the checkpoint. */
  dtype?: 'BF16' | 'F16' | 'F32';
  shards?: boolean;
  /** Other checkpoint dimensions (block 128 needs every input dimension a multiple of 128). */
  dims?: Pick<TinyDecoderOptions, 'hidden' | 'heads' | 'headDim' | 'intermediate'>;
}

const WIDE = { hidden: 128, heads: 4, headDim: 32, intermediate: 256 };

const CASES: Case[] = [
  { family: 'qwen2', quantize: 'none', kvLayout: 'btnh', prefill: [4, 8] },
  { family: 'qwen2', quantize: 'dynamic_int8', kvLayout: 'btnh', prefill: [8] },
  { family: 'qwen3', quantize: 'none', kvLayout: 'transposed', prefill: [8, 16] },
  { family: 'qwen3', quantize: 'dynamic_int8', kvLayout: 'btnh', prefill: [8] },
  { family: 'llama', quantize: 'none', kvLayout: 'btnh', prefill: [8] },
  { family: 'llama', quantize: 'dynamic_int8', kvLayout: 'transposed', prefill: [4, 16] },
  { family: 'qwen2', quantize: 'weight_only_int8', kvLayout: 'transposed', prefill: [8] },
  { family: 'llama', quantize: 'fp16', kvLayout: 'btnh', prefill: [8] },
  // F16 and F32 sources take the generic decode path (int8 weights from F16 here); a sharded checkpoint is read through its index.
  { family: 'qwen3', quantize: 'weight_only_int8', kvLayout: 'btnh', prefill: [8], dtype: 'F16', shards: true },
  { family: 'qwen2', quantize: 'none', kvLayout: 'transposed', prefill: [8], dtype: 'F32', shards: true },
  // Blockwise int4: every input dimension a multiple of the block (64 and 96 for 32; 128 and 256 for 128).
  { family: 'qwen2', quantize: 'dynamic_int4_block32', kvLayout: 'btnh', prefill: [8] },
  { family: 'llama', quantize: 'dynamic_int4_block32', kvLayout: 'transposed', prefill: [4, 16] },
  { family: 'qwen3', quantize: 'dynamic_int4_block32', kvLayout: 'btnh', prefill: [8], dtype: 'F16' },
  { family: 'qwen2', quantize: 'dynamic_int4_block128', kvLayout: 'btnh', prefill: [8], dims: WIDE },
  { family: 'llama', quantize: 'dynamic_int4_block128', kvLayout: 'btnh', prefill: [8], dims: WIDE },
];

const EMULATION: Record<NativeQuantization, string> = {
  none: 'none',
  fp16: 'fp16',
  weight_only_int8: 'weight_only_int8',
  dynamic_int8: 'dynamic_int8',
  dynamic_int4_block32: 'dynamic_int4_block32',
  dynamic_int4_block128: 'dynamic_int4_block128',
};
const TOLERANCE: Record<NativeQuantization, number> = { none: 1e-4, fp16: 1e-4, weight_only_int8: 1e-4, dynamic_int8: 1e-3, dynamic_int4_block32: 1e-3, dynamic_int4_block128: 1e-3 };
/** Greedy agreement with the float reference: int8 keeps it; int4 is reported (45–100 % measured on these tiny random models) and bounded only against garbage (chance is 1/256). */
const MIN_AGREEMENT = (q: NativeQuantization) => (q.startsWith('dynamic_int4') ? 0.25 : 0.9);

describe('native conversion matches a plain-PyTorch forward pass', () => {
  test.each(CASES.map((c) => ({ ...c, source: c.dtype ?? 'BF16' })))('$family $quantize $kvLayout prefill $prefill from $source', async ({ family, quantize, kvLayout, prefill, dtype, shards, dims }) => {
    const name = `${family}-${quantize}-${kvLayout}-${dtype ?? 'BF16'}`;
    const modelDir = await writeTinyDecoder(path.join(root, name), {
      family,
      seed: family.length * 13 + prefill.length,
      ...(dtype ? { dtype } : {}),
      ...(shards ? { maxShardBytes: 60_000 } : {}),
      ...dims,
    });
    if (shards) expect(existsSync(path.join(modelDir, 'model.safetensors.index.json'))).toBe(true);
    const out = path.join(root, `${name}.tflite`);
    const result = await convertNative({ modelDir, outPath: out, quantize, kvCacheMaxLen: 64, prefillSeqLens: prefill, kvLayout });
    expect(result.signatures).toEqual([...prefill.map((t) => `prefill_${t}`), 'decode']);

    const float = await referenceLogits(modelDir, PROMPT, STEPS);
    const forced = float.tokens.slice(0, STEPS - 1);
    const emulated = quantize === 'none' ? float : await referenceLogits(modelDir, PROMPT, STEPS, { emulate: EMULATION[quantize], force: forced });
    const actual = await tfliteLogits(out, PROMPT, forced);
    expect(actual).toHaveLength(STEPS);

    const error = maxAbsDiff(actual, emulated.logits);
    // A converter bug shows as errors of order 1 (logits here span about ±8).
    expect(error, `max |logit error| against the ${EMULATION[quantize]} reference`).toBeLessThanOrEqual(TOLERANCE[quantize]);
    const agree = actual.filter((row, i) => argmax(row) === float.tokens[i]).length / STEPS;
    if (quantize.startsWith('dynamic_int4')) console.log(`${name}: max |logit error| ${error.toExponential(2)} against the emulation; greedy agreement with the float reference ${(agree * 100).toFixed(0)} %`);
    expect(agree, 'greedy agreement with the float reference').toBeGreaterThanOrEqual(MIN_AGREEMENT(quantize));
  }, 120_000);
});

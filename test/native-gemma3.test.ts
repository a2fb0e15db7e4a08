/**
 * Gemma 3 through the native converter, verified like the other families:
 * tiny random Gemma 3 checkpoints (local and global layers, a sliding window
 * of 5 shorter than the 22-position sequences, GQA, one with
 * query_pre_attn_scalar ≠ head_dim and linear rope scaling, one in the
 * Gemma3ForConditionalGeneration layout) are converted and run in LiteRT.js
 * (prefill, then 10 decodes past the window) against the plain-PyTorch
 * Gemma 3 forward (python-env/reference/plain_gemma3.py):
 *   - float: max |logit error| ≤ 1e-4;
 *   - dynamic_int8: ≤ 1e-3 against the int8 emulation, greedy agreeing with
 *     the float reference at ≥ 90 %;
 *   - dynamic_int4_block32: ≤ 1e-3 against the int4 emulation, the greedy
 *     agreement with the float reference printed (bounded only against garbage);
 *   - the embedding multiplier: the export matches the float32 √hidden and
 *     not the bfloat16-rounded one (the choice documented in docs/conversion.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { convertNative } from '../main/core/nativeConvert/convertModel.js';
import type { KvLayout, NativeQuantization } from '../main/core/nativeConvert/decoderGraph.js';
import { argmax, maxAbsDiff, referenceLogits, tfliteLogits } from './support/referenceLm.js';
import { writeTinyGemma3, type TinyGemma3Options } from './support/tinyGemma3.js';

const PROMPT = [2, 17, 42, 99, 7, 128, 64, 200, 11, 5, 250, 31];
const STEPS = 11; // the last prompt token's logits + 10 decode steps, all past the window of 5

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'native-gemma3-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  name: string;
  model: TinyGemma3Options;
  quantize: NativeQuantization;
  kvLayout: KvLayout;
  prefill: number[];
}

const SCALED: TinyGemma3Options = {
  seed: 21,
  queryPreAttnScalar: 24,
  ropeScaling: { rope_type: 'linear', factor: 4 },
  layerTypes: ['sliding_attention', 'full_attention', 'sliding_attention', 'sliding_attention', 'full_attention'],
  layers: 5,
  kvHeads: 1,
};

const CASES: Case[] = [
  { name: 'pattern 3, window 5, GQA 4/2', model: { seed: 5 }, quantize: 'none', kvLayout: 'btnh', prefill: [8] },
  { name: 'query_pre_attn_scalar 24 ≠ head_dim 32, linear rope ×4, layer_types, MQA', model: SCALED, quantize: 'none', kvLayout: 'transposed', prefill: [4, 16] },
  { name: 'Gemma3ForConditionalGeneration text tower', model: { seed: 9, multimodal: true }, quantize: 'none', kvLayout: 'btnh', prefill: [8] },
  { name: 'pattern 3, window 5, GQA 4/2', model: { seed: 5 }, quantize: 'dynamic_int8', kvLayout: 'btnh', prefill: [8] },
  { name: 'query_pre_attn_scalar 24, linear rope', model: SCALED, quantize: 'dynamic_int8', kvLayout: 'btnh', prefill: [8] },
  // Blockwise int4 (block 32: every input dimension here, 96 and 128, is a multiple of it).
  { name: 'pattern 3, window 5, GQA 4/2', model: { seed: 5 }, quantize: 'dynamic_int4_block32', kvLayout: 'btnh', prefill: [8] },
  { name: 'query_pre_attn_scalar 24, linear rope', model: SCALED, quantize: 'dynamic_int4_block32', kvLayout: 'transposed', prefill: [8] },
];

const TOLERANCE: Partial<Record<NativeQuantization, number>> = { none: 1e-4, dynamic_int8: 1e-3, dynamic_int4_block32: 1e-3 };
/** int8 keeps the greedy tokens; int4's agreement is reported and bounded only against garbage (chance is 1/256). */
const MIN_AGREEMENT = (q: NativeQuantization) => (q.startsWith('dynamic_int4') ? 0.25 : 0.9);

describe('Gemma 3 native conversion matches a plain-PyTorch Gemma 3 forward pass', () => {
  test.each(CASES)('$name: $quantize $kvLayout prefill $prefill', async ({ name, model, quantize, kvLayout, prefill }) => {
    const dir = path.join(root, `${name.replace(/\W+/g, '-')}-${quantize}-${kvLayout}`);
    const modelDir = await writeTinyGemma3(dir, model);
    const out = `${dir}.tflite`;
    const result = await convertNative({ modelDir, outPath: out, quantize, kvCacheMaxLen: 64, prefillSeqLens: prefill, kvLayout });
    expect(result.family).toBe('gemma3');
    expect(result.signatures).toEqual([...prefill.map((t) => `prefill_${t}`), 'decode']);

    const float = await referenceLogits(modelDir, PROMPT, STEPS);
    const forced = float.tokens.slice(0, STEPS - 1);
    const emulated = quantize === 'none' ? float : await referenceLogits(modelDir, PROMPT, STEPS, { emulate: quantize, force: forced });
    const actual = await tfliteLogits(out, PROMPT, forced);
    expect(actual).toHaveLength(STEPS);
    const error = maxAbsDiff(actual, emulated.logits);
    expect(error, `max |logit error| against the ${quantize} reference`).toBeLessThanOrEqual(TOLERANCE[quantize]!);
    const agree = actual.filter((row, i) => argmax(row) === float.tokens[i]).length / STEPS;
    if (quantize !== 'none') console.log(`gemma3 ${name} ${quantize}: max |logit error| ${error.toExponential(2)} against the emulation; greedy agreement with the float reference ${(agree * 100).toFixed(0)} %`);
    expect(agree, 'greedy agreement with the float reference').toBeGreaterThanOrEqual(MIN_AGREEMENT(quantize));
  }, 180_000);

  test('the embedding multiplier is √hidden in float32, not rounded to bfloat16 (hidden 96: 9.7980 vs 9.8125)', async () => {
    const modelDir = await writeTinyGemma3(path.join(root, 'embed-scale'), { seed: 5 });
    const out = path.join(root, 'embed-scale.tflite');
    await convertNative({ modelDir, outPath: out, quantize: 'none', kvCacheMaxLen: 64, prefillSeqLens: [8], kvLayout: 'btnh' });
    const f32 = await referenceLogits(modelDir, PROMPT, STEPS);
    const forced = f32.tokens.slice(0, STEPS - 1);
    const bf16 = await referenceLogits(modelDir, PROMPT, STEPS, { force: forced, embedScaleDtype: 'bfloat16' });
    const actual = await tfliteLogits(out, PROMPT, forced);
    expect(maxAbsDiff(actual, f32.logits)).toBeLessThanOrEqual(1e-4);
    // The test can tell the two apart: the bf16 multiplier moves the logits far beyond the tolerance.
    expect(maxAbsDiff(actual, bf16.logits)).toBeGreaterThan(1e-3);
  }, 180_000);
});

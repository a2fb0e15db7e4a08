/**
 * What the memory suggestions offer instead of a blocked conversion: never a
 * combination the convert stage would refuse (the schema's rules in
 * main/common/stages/convert.ts), so following a suggestion cannot end in a
 * second refusal.
 */
import { describe, expect, it } from 'vitest';
import { ConvertParams } from '../../common/stages/convert.js';
import type { ConversionOptions, ModelFacts } from './estimator.js';
import { GB, modelFactsFromConfig } from './estimator.js';
import { QWEN25_1_5B_CONFIG } from '../../../test/support/modelConfigs.js';
import { suggestAlternatives } from './suggestions.js';


const facts = modelFactsFromConfig(QWEN25_1_5B_CONFIG) as ModelFacts;
const host = { totalBytes: 16 * GB, availableBytes: 15 * GB };
const base: ConversionOptions = { kvCacheMaxLen: 32768, prefillSeqLens: [8, 64, 128, 256, 512, 1024], quantize: 'dynamic_int8', route: 'example', lightweightConversion: false, maskAsInput: false };

/** Applies a suggestion's change and validates the result as a run would. */
function accepted(options: ConversionOptions, change: object): boolean {
  return ConvertParams.safeParse({ modelDir: '/m', outDir: '/o', ...options, ...change }).success;
}

describe('suggestAlternatives', () => {
  it('offers no quantization the export_hf route has no recipe for', () => {
    const options: ConversionOptions = { ...base, route: 'export_hf' };
    const suggestions = suggestAlternatives(facts, options, host);
    const quantizations = suggestions.filter((s) => s.kind === 'quantization').map((s) => s.change.quantize);
    expect(quantizations).not.toContain('fp16');
    expect(quantizations).not.toContain('dynamic_int4_block128');
    expect(quantizations).toContain('dynamic_int4_block32');
    for (const s of suggestions) expect(accepted(options, s.change), s.text).toBe(true);
  });

  it('offers a blockwise int4 recipe only when every input dimension splits into its blocks', () => {
    const options: ConversionOptions = { ...base, route: 'example' };
    // Qwen2.5-1.5B: hidden 1536, intermediate 8960, 12 × 128 — multiples of 32 and 128: both offered.
    const both = suggestAlternatives(facts, options, host).map((s) => s.change.quantize);
    expect(both).toEqual(expect.arrayContaining(['dynamic_int4_block32', 'dynamic_int4_block128']));
    // An intermediate size of 8928 (a multiple of 32, not of 128): block 128 would be refused, so it is not offered.
    const odd = modelFactsFromConfig({ ...QWEN25_1_5B_CONFIG, intermediateSize: 8928 }) as ModelFacts;
    expect(odd.intermediateSize).toBe(8928);
    const offered = suggestAlternatives(odd, options, host).map((s) => s.change.quantize);
    expect(offered).toContain('dynamic_int4_block32');
    expect(offered).not.toContain('dynamic_int4_block128');
  });

  it('turns mask-as-input off when it suggests the export_hf route', () => {
    const options: ConversionOptions = { ...base, maskAsInput: true };
    const suggestions = suggestAlternatives(facts, options, host);
    expect(suggestions.find((s) => s.kind === 'lightweight')?.change).toMatchObject({ route: 'export_hf', maskAsInput: false });
    for (const s of suggestions) expect(accepted(options, s.change), s.text).toBe(true);
  });

  it('keeps every suggestion valid from the example route, fp16 included', () => {
    const options: ConversionOptions = { ...base, quantize: 'fp16' };
    for (const s of suggestAlternatives(facts, options, host)) expect(accepted(options, s.change), s.text).toBe(true);
  });
});

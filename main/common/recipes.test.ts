import { describe, expect, it } from 'vitest';
import { paretoFront, RecipesParams, recommendRecipe, type RecipeFigures } from './recipes.js';
import { NATIVE_QUANTIZATIONS } from './stages/convert.js';

const MiB = 2 ** 20;
const r = (recipe: RecipeFigures['recipe'], mib: number, meanKld: number | null, error: string | null = null): RecipeFigures => ({ recipe, bytes: mib * MiB, error, corpus: meanKld === null ? null : { meanKld } });

describe('recommendRecipe', () => {
  const set = [r('none', 400, 1e-9), r('fp16', 200, 2e-6), r('dynamic_int8', 100, 0.004), r('weight_only_int8', 101, 0.003)];

  it('picks the smallest bundle within the threshold', () => {
    const { recommended, reason } = recommendRecipe(set, 0.01);
    expect(recommended).toBe('dynamic_int8');
    expect(reason).toBe('dynamic_int8 is the smallest bundle (100 MiB) whose mean KLD (0.0040 nats) stays within 0.01.');
  });

  it('names the smaller recipes that go beyond it', () => {
    const { recommended, reason } = recommendRecipe(set, 0.0035);
    expect(recommended).toBe('weight_only_int8');
    expect(reason).toContain('the smaller dynamic_int8 (0.0040) goes beyond it');
  });

  it('breaks a size tie by the lower KLD', () => {
    expect(recommendRecipe([r('dynamic_int8', 100, 0.004), r('weight_only_int8', 100, 0.002)], 0.01).recommended).toBe('weight_only_int8');
  });

  it('falls back to the float bundle when none is within', () => {
    const { recommended, reason } = recommendRecipe([r('none', 400, 0.02), r('dynamic_int8', 100, 0.05)], 0.01);
    expect(recommended).toBe('none');
    expect(reason).toBe('No recipe keeps the mean KLD within 0.01 (the closest, none, measures 0.020 nats), so ship the float bundle (none).');
    expect(recommendRecipe([r('dynamic_int8', 100, 0.05)], 0.01).reason).toContain('which was not among the recipes compared');
  });

  it('never recommends a failed or unmeasured recipe', () => {
    expect(recommendRecipe([r('dynamic_int8', 50, 0.001, 'conversion failed'), r('fp16', 200, null), r('none', 400, 0)], 0.01).recommended).toBe('none');
    expect(recommendRecipe([r('fp16', 200, null, 'x')], 0.01)).toEqual({ recommended: null, reason: "No recipe could be measured, so none is recommended; see each recipe's error." });
  });
});

describe('paretoFront', () => {
  it('keeps the recipes nothing beats on both size and KLD', () => {
    expect(paretoFront([r('none', 400, 0), r('fp16', 200, 1e-6), r('weight_only_int8', 101, 0.005), r('dynamic_int8', 100, 0.004)])).toEqual(['dynamic_int8', 'fp16', 'none']);
  });
});

describe('RecipesParams', () => {
  it('defaults to every native recipe and refuses others', () => {
    expect(RecipesParams.parse({ modelDir: '/m', outDir: '/o' }).recipes).toEqual([...NATIVE_QUANTIZATIONS]);
    const bad = RecipesParams.safeParse({ modelDir: '/m', outDir: '/o', recipes: ['dynamic_int4_block128'], kvCacheMaxLen: 64, prefillSeqLens: [128] });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => i.message).join(' ');
    if (!NATIVE_QUANTIZATIONS.includes('dynamic_int4_block128')) expect(messages).toContain('The native converter does not build dynamic_int4_block128');
    expect(messages).toContain('The longest prefill length (128) exceeds the context length (64).');
  });
});

import { describe, expect, it } from 'vitest';
import type { HfModelConfig } from '../../common/formats.js';
import type { MemoryEstimate, MemoryEstimateOk } from '../../common/memoryEstimate.js';
import type { ConversionOptions, ModelFacts } from './estimator.js';
import {
  GB,
  GiB,
  classifyFit,
  estimateConversion,
  estimateDeviceMemory,
  estimateMerge,
  estimatePackage,
  largestSafeContext,
  modelFactsFromConfig,
} from './estimator.js';

const blank: HfModelConfig = {
  architectures: [],
  modelType: null,
  hiddenSize: null,
  numHiddenLayers: null,
  numAttentionHeads: null,
  numKeyValueHeads: null,
  headDim: null,
  intermediateSize: null,
  vocabSize: null,
  maxPositionEmbeddings: null,
  torchDtype: 'bfloat16',
  tieWordEmbeddings: null,
  bosTokenId: null,
  eosTokenIds: [],
  fromTextConfig: false,
};

// Sizes from the models' published config.json files.
const QWEN25_1_5B: HfModelConfig = { ...blank, architectures: ['Qwen2ForCausalLM'], modelType: 'qwen2', hiddenSize: 1536, numHiddenLayers: 28, numAttentionHeads: 12, numKeyValueHeads: 2, intermediateSize: 8960, vocabSize: 151936, tieWordEmbeddings: true };
const LLAMA32_1B: HfModelConfig = { ...blank, architectures: ['LlamaForCausalLM'], hiddenSize: 2048, numHiddenLayers: 16, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 64, intermediateSize: 8192, vocabSize: 128256, tieWordEmbeddings: true };
const LLAMA32_3B: HfModelConfig = { ...blank, architectures: ['LlamaForCausalLM'], hiddenSize: 3072, numHiddenLayers: 28, numAttentionHeads: 24, numKeyValueHeads: 8, headDim: 128, intermediateSize: 8192, vocabSize: 128256, tieWordEmbeddings: true };
const LLAMA31_8B: HfModelConfig = { ...blank, architectures: ['LlamaForCausalLM'], hiddenSize: 4096, numHiddenLayers: 32, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 128, intermediateSize: 14336, vocabSize: 128256, tieWordEmbeddings: false };
const GEMMA2_2B: HfModelConfig = { ...blank, architectures: ['Gemma2ForCausalLM'], hiddenSize: 2304, numHiddenLayers: 26, numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 256, intermediateSize: 9216, vocabSize: 256000, tieWordEmbeddings: true, torchDtype: 'float32' };
const QWEN3_0_6B: HfModelConfig = { ...blank, architectures: ['Qwen3ForCausalLM'], hiddenSize: 1024, numHiddenLayers: 28, numAttentionHeads: 16, numKeyValueHeads: 8, headDim: 128, intermediateSize: 3072, vocabSize: 151936, tieWordEmbeddings: true };

const FIELD_REPORT: ConversionOptions = {
  kvCacheMaxLen: 4096,
  prefillSeqLens: [8, 64, 128, 256, 512, 1024],
  quantize: 'dynamic_int8',
  route: 'example',
  lightweightConversion: false,
  maskAsInput: false,
};

function facts(config: HfModelConfig): ModelFacts {
  const f = modelFactsFromConfig(config);
  if ('ok' in f) throw new Error(f.reason);
  return f;
}

function ok(e: MemoryEstimate): MemoryEstimateOk {
  if (!e.ok) throw new Error(e.reason);
  return e;
}

function peak(config: HfModelConfig, options: Partial<ConversionOptions> = {}): MemoryEstimateOk {
  return ok(estimateConversion(facts(config), { ...FIELD_REPORT, ...options }));
}

describe('parameter count', () => {
  it('matches the published sizes', () => {
    expect(facts(QWEN25_1_5B).params / 1e9).toBeCloseTo(1.54, 2);
    expect(facts(LLAMA32_1B).params / 1e9).toBeCloseTo(1.24, 2);
    expect(facts(LLAMA31_8B).params / 1e9).toBeCloseTo(8.03, 2);
    expect(facts(QWEN3_0_6B).params / 1e9).toBeCloseTo(0.6, 1);
  });
});

describe('the field report: Qwen2.5-1.5B, example script, kv 4096, dynamic_int8, default prefills', () => {
  const e = peak(QWEN25_1_5B);

  it('predicts a peak of ~30–35 GB', () => {
    expect(e.peakBytes.expected).toBeGreaterThan(30 * GB);
    expect(e.peakBytes.expected).toBeLessThan(35 * GB);
    expect(e.peakBytes.low).toBeLessThan(e.peakBytes.expected);
    expect(e.peakBytes.high).toBeGreaterThan(e.peakBytes.expected);
  });

  it('predicts ~30–35 minutes', () => {
    expect(e.durationSec.expected / 60).toBeGreaterThan(25);
    expect(e.durationSec.expected / 60).toBeLessThan(40);
  });

  it('fits a 128 GB host and not a 16 GB or 12 GB one', () => {
    expect(classifyFit(e, 128 * GB, 120 * GB).fit).toBe('fits');
    expect(classifyFit(e, 16 * GB, 14 * GB).fit).toBe('blocked');
    expect(classifyFit(e, 12 * GB, 10 * GB).fit).toBe('blocked');
  });

  it('does not fit 32k where 4096 did: the mask term is quadratic', () => {
    const at32k = peak(QWEN25_1_5B, { kvCacheMaxLen: 32768 });
    expect(classifyFit(at32k, 128 * GB, 120 * GB).fit).toBe('blocked');
    const mask = (x: MemoryEstimateOk): number => x.phases.find((p) => p.id === 'convert')!.terms.find((t) => t.id === 'mask_signatures')!.bytes;
    // 8× the context, 64× the mask.
    expect(mask(at32k) / mask(e)).toBeCloseTo(64, 5);
    // The growth from 4k to 32k is far above linear extrapolation of 1k→4k.
    const at1k = peak(QWEN25_1_5B, { kvCacheMaxLen: 1024 });
    const linear = ((e.peakBytes.expected - at1k.peakBytes.expected) / 3072) * (32768 - 4096);
    expect(at32k.peakBytes.expected - e.peakBytes.expected).toBeGreaterThan(5 * linear);
  });

  it('mask_as_input removes the quadratic term, so 32k fits the 128 GB host', () => {
    const e32 = peak(QWEN25_1_5B, { kvCacheMaxLen: 32768, maskAsInput: true });
    expect(classifyFit(e32, 128 * GB, 120 * GB).fit).not.toBe('blocked');
    expect(e32.peakBytes.expected).toBeLessThan(45 * GB);
  });
});

describe('monotonicity', () => {
  it('grows with kv_cache_max_len', () => {
    let previous = 0;
    for (const kv of [1024, 2048, 4096, 8192, 16384, 32768, 65536]) {
      const e = peak(QWEN25_1_5B, { kvCacheMaxLen: kv });
      expect(e.peakBytes.expected).toBeGreaterThan(previous);
      previous = e.peakBytes.expected;
    }
  });

  it('grows with parameters, roughly linearly (Llama 3.2 1B ≈ 30 GiB, 3B ≈ 90 GiB, 8B ≈ 240 GiB reports)', () => {
    const options = { kvCacheMaxLen: 1280 };
    const sizes = [LLAMA32_1B, LLAMA32_3B, LLAMA31_8B].map((c) => ({ params: facts(c).params, e: peak(c, options) }));
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!.e.peakBytes.expected).toBeGreaterThan(sizes[i - 1]!.e.peakBytes.expected);
    // Peak per parameter stays within 20 % across a 6.5× range of sizes.
    const perParam = sizes.map((s) => s.e.peakBytes.expected / s.params);
    expect(Math.max(...perParam) / Math.min(...perParam)).toBeLessThan(1.2);
    // The 1B and 3B reports lie inside the band.
    expect(sizes[0]!.e.peakBytes.low).toBeLessThan(30 * GiB);
    expect(sizes[0]!.e.peakBytes.high).toBeGreaterThan(30 * GiB);
    expect(sizes[1]!.e.peakBytes.low).toBeLessThan(90 * GiB);
    expect(sizes[1]!.e.peakBytes.high).toBeGreaterThan(90 * GiB);
    // The 8B figure was scaled by nominal size ("8x" the 1B); scaled by real parameters it is inside the band.
    const scaled8b = 240 * GiB * (sizes[2]!.params / sizes[0]!.params / 8);
    expect(sizes[2]!.e.peakBytes.low).toBeLessThan(scaled8b);
    expect(sizes[2]!.e.peakBytes.high).toBeGreaterThan(scaled8b);
  });

  it('Gemma 2 2B with quantization is not predicted to fit a ~80 GB host (issue #192 OOM)', () => {
    const e = peak(GEMMA2_2B, { kvCacheMaxLen: 1280 });
    expect(classifyFit(e, 83.5 * GB, 80 * GB).fit).not.toBe('fits');
    expect(e.peakBytes.high).toBeGreaterThan(80 * GB);
  });
});

describe('export_hf', () => {
  const options: Partial<ConversionOptions> = { route: 'export_hf', kvCacheMaxLen: 1024, prefillSeqLens: [512] };

  it('lightweight conversion of Qwen3-0.6B stays within 8 GB; the default path does not', () => {
    const light = peak(QWEN3_0_6B, { ...options, lightweightConversion: true });
    expect(light.peakBytes.expected).toBeLessThan(8 * GB);
    expect(classifyFit(light, 8 * GiB, 7.6 * GiB).fit).not.toBe('blocked');
    const full = peak(QWEN3_0_6B, options);
    expect(full.peakBytes.expected).toBeGreaterThan(8 * GB);
    expect(classifyFit(full, 8 * GiB, 7.6 * GiB).fit).toBe('blocked');
  });

  it('has no quadratic mask term', () => {
    const a = peak(QWEN25_1_5B, { route: 'export_hf', kvCacheMaxLen: 4096 });
    const b = peak(QWEN25_1_5B, { route: 'export_hf', kvCacheMaxLen: 32768 });
    expect(b.peakBytes.expected - a.peakBytes.expected).toBeLessThan(8 * GB);
  });

  it('notes options a route ignores', () => {
    expect(peak(QWEN25_1_5B, { lightweightConversion: true }).notes.join(' ')).toMatch(/export_hf option/);
    expect(peak(QWEN25_1_5B, { route: 'export_hf', maskAsInput: true }).notes.join(' ')).toMatch(/always takes the mask/);
  });
});

describe('no estimate', () => {
  it('explains a missing config', () => {
    const e = estimateConversion(modelFactsFromConfig(null), FIELD_REPORT);
    expect(e).toMatchObject({ ok: false, code: 'missing_config' });
  });

  it('explains an unknown architecture instead of guessing', () => {
    const moe = { ...QWEN25_1_5B, architectures: ['Qwen3MoeForCausalLM'], modelType: 'qwen3_moe' };
    const e = estimateConversion(modelFactsFromConfig(moe), FIELD_REPORT);
    expect(e).toMatchObject({ ok: false, code: 'unknown_architecture' });
    if (!e.ok) expect(e.reason).toContain('Qwen3MoeForCausalLM');
    expect(classifyFit(e, 128 * GB, 120 * GB).fit).toBe('unknown');
  });

  it('explains an incomplete config (never NaN)', () => {
    const e = estimateConversion(modelFactsFromConfig({ ...QWEN25_1_5B, hiddenSize: null }), FIELD_REPORT);
    expect(e).toMatchObject({ ok: false, code: 'incomplete_config' });
    expect(JSON.stringify(e)).not.toContain('NaN');
  });

  it('rejects prefill lengths longer than the context', () => {
    expect(estimateConversion(facts(QWEN25_1_5B), { ...FIELD_REPORT, kvCacheMaxLen: 512 })).toMatchObject({ ok: false, code: 'invalid_params' });
  });
});

describe('largestSafeContext', () => {
  const { kvCacheMaxLen: _unused, ...rest } = FIELD_REPORT;
  it('finds the largest context that fits, dropping prefills longer than the candidate', () => {
    expect(largestSafeContext(facts(QWEN25_1_5B), rest, 128 * GB, 120 * GB)).toBe(16384);
    expect(largestSafeContext(facts(QWEN25_1_5B), rest, 16 * GB, 14 * GB)).toBeNull();
    expect(largestSafeContext(modelFactsFromConfig(null), rest, 128 * GB, 120 * GB)).toBeNull();
  });
});

describe('merge and packaging', () => {
  const p = facts(QWEN25_1_5B).params;
  const embedding = 151936 * 1536;
  it('streaming merge needs a small multiple of the largest tensor, full load needs every weight', () => {
    const streaming = estimateMerge({ params: p, largestTensorElements: embedding, checkpointBytesPerParam: 2, mode: 'streaming', shardBytes: 4 * GiB, threads: 2 });
    const full = estimateMerge({ params: p, largestTensorElements: embedding, checkpointBytesPerParam: 2, mode: 'full_load', shardBytes: 4 * GiB, threads: 2 });
    expect(streaming.peakBytes.expected).toBeLessThan(embedding * 14);
    expect(full.peakBytes.expected).toBeGreaterThan(p * 2);
    expect(full.peakBytes.expected).toBeGreaterThan(streaming.peakBytes.expected);
  });

  it('packaging is a small constant independent of the .tflite size', () => {
    const small = estimatePackage({ tfliteBytes: 100e6, tokenizerBytes: 7e6 });
    const big = estimatePackage({ tfliteBytes: 1.6e9, tokenizerBytes: 7e6 });
    expect(big.peakBytes.expected).toBe(small.peakBytes.expected);
    expect(big.peakBytes.expected).toBeLessThan(0.5 * GB);
  });
});

describe('Gemma 3 on the native route (issue 17, item 5)', () => {
  const GEMMA3_1B: HfModelConfig = { ...blank, architectures: ['Gemma3ForCausalLM'], modelType: 'gemma3_text', hiddenSize: 1152, numHiddenLayers: 26, numAttentionHeads: 4, numKeyValueHeads: 1, headDim: 256, intermediateSize: 6912, vocabSize: 262144, maxPositionEmbeddings: 32768 };

  it('the device KV cache is every layer at the full context, local layers included (the graph stores them so: no ring buffer)', () => {
    const f = modelFactsFromConfig(GEMMA3_1B);
    if ('ok' in f) throw new Error(f.reason);
    expect(f.tiedEmbeddings).toBe(true);
    // 26 layers × K and V × 1 KV head × 256 × 4096 positions × 4 bytes = 416 MiB.
    expect(estimateDeviceMemory(f, { kvCacheMaxLen: 4096, prefillSeqLens: [8, 128], quantize: 'dynamic_int4_block32' }).kvCacheBytes).toBe(26 * 2 * 256 * 4096 * 4);
  });

  it('the native route predicts a peak far under 1 GiB with both RoPE tables counted', () => {
    const f = modelFactsFromConfig(GEMMA3_1B);
    const e = estimateConversion(f, { ...FIELD_REPORT, route: 'native' });
    expect(e.ok).toBe(true);
    const ok = e as MemoryEstimateOk;
    const rope = ok.phases.flatMap((p) => p.terms).find((t) => t.id === 'rope');
    expect(rope?.bytes).toBe(2 * 2 * 4096 * 256 * 4);
    expect(ok.peakBytes.expected).toBeLessThan(GiB);
  });
});

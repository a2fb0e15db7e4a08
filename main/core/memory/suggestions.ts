/**
 * What would fit instead: after a guard stop (or before a blocked start), the
 * conversion settings a user can change, each with its predicted peak on this
 * host. Pure, built on the estimator.
 */
import type { Band, FitClass } from '../../common/memoryEstimate.js';
import { convertOptionProblems, type ConvertParams, type Quantization } from '../../common/stages/convert.js';
import type { AppliedCalibration, ConversionOptions, ModelFacts } from './estimator.js';
import { GiB, STANDARD_CONTEXTS, classifyFit, estimateConversion, formatBytes, largestSafeContext } from './estimator.js';

export interface Suggestion {
  kind: 'smaller_context' | 'quantization' | 'lightweight' | 'mask_as_input' | 'bigger_host';
  /** One sentence. */
  text: string;
  /** The parameters to change (empty for a bigger host). */
  change: Partial<Pick<ConvertParams, 'kvCacheMaxLen' | 'prefillSeqLens' | 'quantize' | 'route' | 'lightweightConversion' | 'maskAsInput'>>;
  peakBytes: Band | null;
  fit: FitClass;
}

export interface HostRam {
  totalBytes: number;
  /** RAM available to a new stage (available now plus what the stopped stage held). */
  availableBytes: number;
}

const QUANTIZATIONS: Quantization[] = ['dynamic_int8', 'weight_only_int8', 'fp16', 'dynamic_int4_block32', 'dynamic_int4_block128', 'none'];

export function conversionOptions(params: Pick<ConvertParams, 'kvCacheMaxLen' | 'prefillSeqLens' | 'quantize' | 'route' | 'lightweightConversion' | 'maskAsInput'>): ConversionOptions {
  return {
    kvCacheMaxLen: params.kvCacheMaxLen,
    prefillSeqLens: params.prefillSeqLens,
    quantize: params.quantize,
    route: params.route,
    lightweightConversion: params.lightweightConversion,
    maskAsInput: params.maskAsInput,
  };
}

/** Alternatives to `options` on `host`, the ones that fit first. */
export function suggestAlternatives(facts: ModelFacts, options: ConversionOptions, host: HostRam, calibration?: AppliedCalibration, stopUsedFraction = 0.9): Suggestion[] {
  const out: Suggestion[] = [];
  // An alternative a run would refuse (fp16 on export_hf, ...) is no alternative.
  // Blockwise int4 needs every weight's input dimension to split into whole blocks (ai-edge-quantizer and the native converter refuse otherwise).
  const blocks = (q: Quantization): boolean => {
    const block = q === 'dynamic_int4_block32' ? 32 : q === 'dynamic_int4_block128' ? 128 : 1;
    return [facts.hiddenSize, facts.intermediateSize, facts.numHeads * facts.headDim].every((d) => d % block === 0);
  };
  const allowed = (o: ConversionOptions): boolean => convertOptionProblems({ ...o, transposeKvCache: false }).length === 0 && blocks(o.quantize);
  const judge = (o: ConversionOptions): { peak: Band | null; fit: FitClass } => {
    const e = estimateConversion(facts, o, calibration);
    return { peak: e.ok ? e.peakBytes : null, fit: classifyFit(e, host.totalBytes, host.availableBytes, stopUsedFraction).fit };
  };

  const { kvCacheMaxLen: _current, ...rest } = options;
  const candidates = [...STANDARD_CONTEXTS].filter((kv) => kv < options.kvCacheMaxLen);
  const safe = largestSafeContext(facts, rest, host.totalBytes, host.availableBytes, { candidates, allowTight: true, calibration, stopUsedFraction });
  if (safe !== null) {
    const prefill = options.prefillSeqLens.filter((p) => p <= safe);
    const j = judge({ ...options, kvCacheMaxLen: safe, prefillSeqLens: prefill });
    out.push({ kind: 'smaller_context', text: `Use a context of ${safe} tokens (predicted peak ${fmt(j.peak)}).`, change: { kvCacheMaxLen: safe, prefillSeqLens: prefill }, peakBytes: j.peak, fit: j.fit });
  }

  if (options.route === 'example' && !options.maskAsInput) {
    const j = judge({ ...options, maskAsInput: true });
    out.push({ kind: 'mask_as_input', text: `Pass the causal mask as an input instead of baking a ${options.kvCacheMaxLen}×${options.kvCacheMaxLen} buffer into every signature (predicted peak ${fmt(j.peak)}).`, change: { maskAsInput: true }, peakBytes: j.peak, fit: j.fit });
  }

  const lightweight: ConversionOptions = { ...options, route: 'export_hf', lightweightConversion: true, maskAsInput: false };
  if (!(options.route === 'export_hf' && options.lightweightConversion) && allowed(lightweight)) {
    const j = judge(lightweight);
    out.push({ kind: 'lightweight', text: `Convert with export_hf and lightweight conversion (predicted peak ${fmt(j.peak)}).`, change: { route: 'export_hf', lightweightConversion: true, maskAsInput: false }, peakBytes: j.peak, fit: j.fit });
  }

  for (const q of QUANTIZATIONS) {
    if (q === options.quantize || !allowed({ ...options, quantize: q })) continue;
    const j = judge({ ...options, quantize: q });
    out.push({ kind: 'quantization', text: `Quantize with ${q} (predicted peak ${fmt(j.peak)}).`, change: { quantize: q }, peakBytes: j.peak, fit: j.fit });
  }

  const current = judge(options);
  if (current.peak) {
    // A host whose stop threshold leaves room for the high end of the band, in 16 GiB steps (a "16 GB" laptop has 16 GiB).
    const needed = Math.ceil(current.peak.high / stopUsedFraction / (16 * GiB)) * 16 * GiB;
    out.push({ kind: 'bigger_host', text: `Run this conversion on a host with at least ${Math.round(needed / GiB)} GiB of RAM (serve mode), predicted peak ${fmt(current.peak)}.`, change: {}, peakBytes: current.peak, fit: 'unknown' });
  }

  const rank: Record<FitClass, number> = { fits: 0, tight: 1, unknown: 2, blocked: 3 };
  return out.sort((a, b) => rank[a.fit] - rank[b.fit] || (a.peakBytes?.expected ?? Infinity) - (b.peakBytes?.expected ?? Infinity));
}

function fmt(b: Band | null): string {
  return b ? `${formatBytes(b.expected)}, up to ${formatBytes(b.high)}` : 'unknown';
}

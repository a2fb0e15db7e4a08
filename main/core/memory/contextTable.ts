/**
 * The table behind the wizard's context-length picker and `workbench
 * estimate`: every candidate context with its predicted peak and fit on a
 * host, plus the largest safe choice. Pure.
 */
import type { HfModelConfig } from '../../common/formats.js';
import { formatBytes } from '../../common/format.js';
import type { ContextRow, ContextTable, DeviceFit } from '../../common/memoryEstimate.js';
import type { AppliedCalibration, ConversionOptions, ModelFacts } from './estimator.js';
import { DEVICE_USABLE_FRACTION, STANDARD_CONTEXTS, classifyFit, estimateConversion, estimateDeviceMemory, hostBudget, modelFactsFromConfig } from './estimator.js';

export interface ContextTableInput {
  config: HfModelConfig | null;
  options: Omit<ConversionOptions, 'kvCacheMaxLen'>;
  hostTotalBytes: number;
  hostAvailableBytes: number;
  stopUsedFraction: number;
  /** Extra contexts to evaluate (a custom value typed by the user). */
  extraContexts?: readonly number[];
  calibration?: AppliedCalibration;
  /** RAM of the device the model is for (default: an 8 GiB phone). */
  deviceRamBytes?: number;
}

export const DEFAULT_DEVICE_RAM_BYTES = 8 * 2 ** 30;

/** The model on the device at this context, against the share of its RAM an app can count on. */
export function deviceFit(facts: ModelFacts, options: { kvCacheMaxLen: number; prefillSeqLens: readonly number[]; quantize: ConversionOptions['quantize'] }, deviceRamBytes: number): DeviceFit {
  const m = estimateDeviceMemory(facts, options);
  const usable = deviceRamBytes * DEVICE_USABLE_FRACTION;
  const fits = m.totalBytes <= usable;
  return {
    ...m,
    fit: fits ? 'fits' : 'blocked',
    reason: fits
      ? ''
      : `On the device the model needs about ${formatBytes(m.totalBytes)} at this context (weights ${formatBytes(m.weightsBytes)}, KV cache ${formatBytes(m.kvCacheBytes)}, working memory ${formatBytes(m.workspaceBytes)}), more than the ${formatBytes(usable)} an app can count on with ${formatBytes(deviceRamBytes)} of RAM.`,
  };
}

export function buildContextTable(input: ContextTableInput): ContextTable {
  const facts = modelFactsFromConfig(input.config);
  const deviceRam = input.deviceRamBytes ?? DEFAULT_DEVICE_RAM_BYTES;
  const contexts = [...new Set([...STANDARD_CONTEXTS, ...(input.extraContexts ?? [])])].filter((kv) => Number.isInteger(kv) && kv > 0).sort((a, b) => a - b);
  const rows: ContextRow[] = contexts.map((kv) => {
    const kept = input.options.prefillSeqLens.filter((p) => p <= kv);
    // A context shorter than every prefill length keeps one prefill of the context itself.
    const prefillSeqLens = kept.length > 0 ? kept : [kv];
    const estimate = estimateConversion(facts, { ...input.options, prefillSeqLens, kvCacheMaxLen: kv }, input.calibration);
    const device = 'ok' in facts ? null : deviceFit(facts, { kvCacheMaxLen: kv, prefillSeqLens, quantize: input.options.quantize }, deviceRam);
    return { kvCacheMaxLen: kv, prefillSeqLens, estimate, verdict: classifyFit(estimate, input.hostTotalBytes, input.hostAvailableBytes, input.stopUsedFraction), device };
  });
  // Never offer a context the model was not trained for as "the largest safe" one.
  const trained = input.config?.maxPositionEmbeddings ?? null;
  const largest = (ok: (fit: string) => boolean): number | null => {
    const hits = rows.filter((r) => ok(r.verdict.fit) && (trained === null || r.kvCacheMaxLen <= trained)).map((r) => r.kvCacheMaxLen);
    return hits.length > 0 ? Math.max(...hits) : null;
  };
  const capped = trained !== null && rows.some((r) => r.kvCacheMaxLen > trained && (r.verdict.fit === 'fits' || r.verdict.fit === 'tight'));
  const contextCap = capped
    ? { maxPositionEmbeddings: trained, reason: `Capped at ${trained.toLocaleString('en-US')}, the model's max_position_embeddings: longer contexts fit this host, but the model was not trained for that many positions.` }
    : null;
  const noEstimate = 'ok' in facts ? facts : null;
  const model = 'ok' in facts ? null : { family: facts.family, params: facts.params };
  return {
    host: {
      totalBytes: input.hostTotalBytes,
      availableBytes: input.hostAvailableBytes,
      budgetBytes: hostBudget(input.hostTotalBytes, input.hostAvailableBytes, input.stopUsedFraction),
      stopUsedFraction: input.stopUsedFraction,
    },
    rows,
    largestSafe: largest((f) => f === 'fits'),
    largestTight: largest((f) => f === 'fits' || f === 'tight'),
    contextCap,
    model,
    noEstimate,
    // The native route's estimate is not calibrated (see estimateConversion).
    calibration: input.options.route === 'native' ? { calibrated: false, runs: 0 } : { calibrated: (input.calibration?.runs ?? 0) > 0, runs: input.calibration?.runs ?? 0 },
    device: { ramBytes: deviceRam, usableBytes: deviceRam * DEVICE_USABLE_FRACTION },
  };
}

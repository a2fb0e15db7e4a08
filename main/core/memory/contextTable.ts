/**
 * The table behind the wizard's context-length picker and `workbench
 * estimate`: every candidate context with its predicted peak and fit on a
 * host, plus the largest safe choice. Pure.
 */
import type { HfModelConfig } from '../../common/formats.js';
import type { ContextRow, ContextTable } from '../../common/memoryEstimate.js';
import type { AppliedCalibration, ConversionOptions } from './estimator.js';
import { STANDARD_CONTEXTS, classifyFit, estimateConversion, hostBudget, modelFactsFromConfig } from './estimator.js';

export interface ContextTableInput {
  config: HfModelConfig | null;
  options: Omit<ConversionOptions, 'kvCacheMaxLen'>;
  hostTotalBytes: number;
  hostAvailableBytes: number;
  stopUsedFraction: number;
  /** Extra contexts to evaluate (a custom value typed by the user). */
  extraContexts?: readonly number[];
  calibration?: AppliedCalibration;
}

export function buildContextTable(input: ContextTableInput): ContextTable {
  const facts = modelFactsFromConfig(input.config);
  const contexts = [...new Set([...STANDARD_CONTEXTS, ...(input.extraContexts ?? [])])].filter((kv) => Number.isInteger(kv) && kv > 0).sort((a, b) => a - b);
  const rows: ContextRow[] = contexts.map((kv) => {
    const kept = input.options.prefillSeqLens.filter((p) => p <= kv);
    // A context shorter than every prefill length keeps one prefill of the context itself.
    const prefillSeqLens = kept.length > 0 ? kept : [kv];
    const estimate = estimateConversion(facts, { ...input.options, prefillSeqLens, kvCacheMaxLen: kv }, input.calibration);
    return { kvCacheMaxLen: kv, prefillSeqLens, estimate, verdict: classifyFit(estimate, input.hostTotalBytes, input.hostAvailableBytes, input.stopUsedFraction) };
  });
  const largest = (ok: (fit: string) => boolean): number | null => {
    const hits = rows.filter((r) => ok(r.verdict.fit)).map((r) => r.kvCacheMaxLen);
    return hits.length > 0 ? Math.max(...hits) : null;
  };
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
    model,
    noEstimate,
    calibration: { calibrated: (input.calibration?.runs ?? 0) > 0, runs: input.calibration?.runs ?? 0 },
  };
}

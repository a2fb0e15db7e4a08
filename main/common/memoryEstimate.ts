/**
 * The shapes of memory estimates and of calibration, shared by the estimator
 * (main/core/memory), the API, the CLI (`workbench estimate --json`) and the
 * renderer (context-length picker, memory chart). Bytes and seconds throughout.
 */
import { z } from 'zod';

/** A quantity with its uncertainty band: low ≤ expected ≤ high. */
export const Band = z.object({
  low: z.number().nonnegative(),
  expected: z.number().nonnegative(),
  high: z.number().nonnegative(),
});
export type Band = z.infer<typeof Band>;

/** Calibration groups: every term belongs to one, and each group has one scale factor. */
export const TermGroup = z.enum(['weights', 'context', 'fixed']);
export type TermGroup = z.infer<typeof TermGroup>;

/** One additive term of the peak, with its physical meaning. */
export const EstimateTerm = z.object({
  id: z.string(),
  group: TermGroup,
  /** One sentence: what is held in memory and why. */
  label: z.string(),
  /** Bytes after calibration scaling. */
  bytes: z.number().nonnegative(),
});
export type EstimateTerm = z.infer<typeof EstimateTerm>;

export const EstimatePhase = z.object({
  id: z.string(),
  label: z.string(),
  bytes: z.number().nonnegative(),
  terms: z.array(EstimateTerm),
});
export type EstimatePhase = z.infer<typeof EstimatePhase>;

export const MemoryEstimateOk = z.object({
  ok: z.literal(true),
  stage: z.enum(['convert', 'merge', 'package', 'verify']),
  peakBytes: Band,
  durationSec: Band,
  /** The phase whose sum is the peak (e.g. "convert", "quantize"). */
  peakPhase: z.string(),
  /** Every phase with its terms; the peak is the largest. */
  phases: z.array(EstimatePhase),
  /** Parameter count the estimate rests on (0 for stages where it does not apply). */
  params: z.number().nonnegative(),
  /** Whether calibrated coefficients were applied, and how many runs they rest on. */
  calibration: z.object({ calibrated: z.boolean(), runs: z.number().int().nonnegative() }),
  /** Caveats in one sentence each (an option ignored for this route, an assumed dtype, ...). */
  notes: z.array(z.string()),
});
export type MemoryEstimateOk = z.infer<typeof MemoryEstimateOk>;

export const NoEstimateCode = z.enum(['missing_config', 'unknown_architecture', 'incomplete_config', 'invalid_params']);
export type NoEstimateCode = z.infer<typeof NoEstimateCode>;

/** Why no estimate is possible; the live guard still protects the run. */
export const NoEstimate = z.object({
  ok: z.literal(false),
  code: NoEstimateCode,
  reason: z.string(),
});
export type NoEstimate = z.infer<typeof NoEstimate>;

export const MemoryEstimate = z.discriminatedUnion('ok', [MemoryEstimateOk, NoEstimate]);
export type MemoryEstimate = z.infer<typeof MemoryEstimate>;

export const FitClass = z.enum(['fits', 'tight', 'blocked', 'unknown']);
export type FitClass = z.infer<typeof FitClass>;

export const FitVerdict = z.object({
  fit: FitClass,
  /** One human sentence. */
  reason: z.string(),
  /** Bytes the stage may use before the guard's stop threshold. */
  budgetBytes: z.number().nonnegative(),
});
export type FitVerdict = z.infer<typeof FitVerdict>;

/** Scale factors applied to the prior coefficients (1 = prior). */
export const CalibrationScales = z.object({
  weights: z.number().positive(),
  context: z.number().positive(),
  fixed: z.number().positive(),
  duration: z.number().positive(),
});
export type CalibrationScales = z.infer<typeof CalibrationScales>;

/** One finished or guard-stopped conversion on this host. */
export const CalibrationPoint = z.object({
  /** Run and stage it came from (for display and de-duplication). */
  runId: z.number().int(),
  stageId: z.number().int(),
  at: z.number(),
  /** Prior (unscaled) bytes per group in the phase that was the predicted peak. */
  groups: z.object({ weights: z.number().nonnegative(), context: z.number().nonnegative(), fixed: z.number().nonnegative() }),
  /** Prior expected duration (s). */
  priorDurationSec: z.number().nonnegative(),
  /** Measured peak tree RSS; for a guard-stopped run, the figure it exceeded (a lower bound). */
  peakBytes: z.number().nonnegative(),
  /** Measured duration (s); a lower bound when censored. */
  durationSec: z.number().nonnegative(),
  /** true = the stage was stopped before finishing: the true peak is at least peakBytes. */
  censored: z.boolean(),
  /** Human summary: model, context, quantization, route. */
  label: z.string(),
});
export type CalibrationPoint = z.infer<typeof CalibrationPoint>;

export const CalibrationState = z.object({
  version: z.literal(1),
  points: z.array(CalibrationPoint),
});
export type CalibrationState = z.infer<typeof CalibrationState>;

export const CalibrationFit = z.object({
  scales: CalibrationScales,
  /** Multiplicative band around the expected peak after calibration (low ≤ 1 ≤ high). */
  band: z.object({ low: z.number().positive(), high: z.number().positive() }).nullable(),
  /** How many runs the fit rests on (finished + censored). */
  runs: z.number().int().nonnegative(),
  censoredRuns: z.number().int().nonnegative(),
  /** Median |log(measured/predicted)| before and after the fit (0 when no finished runs). */
  priorError: z.number().nonnegative(),
  calibratedError: z.number().nonnegative(),
});
export type CalibrationFit = z.infer<typeof CalibrationFit>;

export const PRIOR_SCALES: CalibrationScales = { weights: 1, context: 1, fixed: 1, duration: 1 };

/** The converted model's memory on the target device at one context length, against what an app can use there. */
export const DeviceFit = z.object({
  weightsBytes: z.number().nonnegative(),
  kvCacheBytes: z.number().nonnegative(),
  workspaceBytes: z.number().nonnegative(),
  totalBytes: z.number().nonnegative(),
  fit: z.enum(['fits', 'blocked']),
  /** One sentence when blocked. */
  reason: z.string(),
});
export type DeviceFit = z.infer<typeof DeviceFit>;

/** The context-length table: each candidate context with its estimate and fit on this host, and on the device. */
export const ContextRow = z.object({
  kvCacheMaxLen: z.number().int().positive(),
  /** Prefill lengths used for this row (those longer than the context are dropped). */
  prefillSeqLens: z.array(z.number().int().positive()),
  estimate: MemoryEstimate,
  verdict: FitVerdict,
  /** Null when the model facts are unknown. */
  device: DeviceFit.nullable(),
});
export type ContextRow = z.infer<typeof ContextRow>;

export const HostRam = z.object({
  totalBytes: z.number().nonnegative(),
  availableBytes: z.number().nonnegative(),
  /** What a stage may use before the guard's stop level. */
  budgetBytes: z.number().nonnegative(),
  stopUsedFraction: z.number(),
});
export type HostRam = z.infer<typeof HostRam>;

export const ContextTable = z.object({
  host: HostRam,
  rows: z.array(ContextRow),
  /** Largest context that fits (high end of the band under budget); null when none or unknown. */
  largestSafe: z.number().int().nullable(),
  /** Largest context whose expected peak fits (may be tight). */
  largestTight: z.number().int().nullable(),
  /**
   * Set when config.json's max_position_embeddings capped largestSafe /
   * largestTight: a longer context fits the host but the model was not
   * trained for it, so it is never offered as "the largest safe" one.
   */
  contextCap: z.object({ maxPositionEmbeddings: z.number().int().positive(), reason: z.string() }).nullable().default(null),
  model: z.object({ family: z.string(), params: z.number() }).nullable(),
  /** Set when no estimate is possible at all (missing config, unknown architecture). */
  noEstimate: NoEstimate.nullable(),
  calibration: z.object({ calibrated: z.boolean(), runs: z.number().int().nonnegative() }),
  /** The target device the rows' `device` column is judged against. */
  device: z.object({ ramBytes: z.number().positive(), usableBytes: z.number().positive() }),
});
export type ContextTable = z.infer<typeof ContextTable>;

/**
 * The warning for a context longer than the model was trained for
 * (config.json's max_position_embeddings), or null. A warning, not a
 * refusal: the converter builds any kv_cache_max_len, but positions past the
 * trained range are ones the model never saw — a quality risk, not a memory
 * one. Shared so every place that offers a context says it the same way.
 */
export function untrainedContextWarning(kvCacheMaxLen: number, maxPositionEmbeddings: number | null): string | null {
  if (maxPositionEmbeddings === null || kvCacheMaxLen <= maxPositionEmbeddings) return null;
  return `A context of ${kvCacheMaxLen} exceeds the model's max_position_embeddings of ${maxPositionEmbeddings}: it was not trained for that many positions, so answers past ${maxPositionEmbeddings} tokens may degrade (the converter will still build it).`;
}

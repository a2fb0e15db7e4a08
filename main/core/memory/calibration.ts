/**
 * Calibration of the estimator from this host's own history. Every finished
 * conversion is a measurement (features → measured peak tree RSS); every
 * guard-stopped one is a censored point ("the peak was at least X"). The fit
 * scales the prior terms by group (weights, context, fixed), bounded and
 * robust: a Huber loss on log ratios, censored points that only push up, and
 * a pull toward the priors that fades as runs accumulate. Duration gets one
 * scale (median log ratio of finished runs, shrunk toward 1).
 *
 * The maths is pure; persistence goes through a CalibrationStore the engine
 * wires to the history database's settings table.
 */
import type { HfModelConfig } from '../../common/formats.js';
import type { CalibrationFit, CalibrationPoint, CalibrationScales, CalibrationState, TermGroup } from '../../common/memoryEstimate.js';
import { CalibrationState as CalibrationStateSchema, PRIOR_SCALES } from '../../common/memoryEstimate.js';
import type { ConvertParams } from '../../common/stages/convert.js';
import type { AppliedCalibration, ModelFacts } from './estimator.js';
import { estimateConversion, modelFactsFromConfig, priorGroups } from './estimator.js';
import { conversionOptions } from './suggestions.js';

export interface CalibrationStore {
  load(): Promise<CalibrationState | null>;
  save(state: CalibrationState): Promise<void>;
}

/** Scale bounds per group: wide enough for the spread of converter versions, narrow enough that a bad point cannot make nonsense. */
export const SCALE_BOUNDS: Record<TermGroup, [number, number]> = {
  weights: [0.5, 2.5],
  context: [0.25, 4],
  fixed: [0.5, 3],
};
const DURATION_BOUNDS: [number, number] = [0.25, 4];
/** Huber threshold on log(predicted/measured): 10 % errors are quadratic, larger ones linear. */
const HUBER_DELTA = 0.1;
/** Strength of the pull toward the priors (ridge on log scales). */
const PRIOR_WEIGHT = 0.05;
/** Keep the newest points only: the converter and the host change over time. */
export const MAX_POINTS = 200;

const GROUPS: TermGroup[] = ['weights', 'context', 'fixed'];

function huber(r: number): number {
  const a = Math.abs(r);
  return a <= HUBER_DELTA ? 0.5 * r * r : HUBER_DELTA * (a - 0.5 * HUBER_DELTA);
}

function predict(point: CalibrationPoint, logScales: readonly number[]): number {
  return GROUPS.reduce((sum, g, i) => sum + point.groups[g] * Math.exp(logScales[i]!), 0);
}

function loss(points: readonly CalibrationPoint[], logScales: readonly number[]): number {
  let total = 0;
  for (const p of points) {
    const predicted = predict(p, logScales);
    if (predicted <= 0 || p.peakBytes <= 0) continue;
    const r = Math.log(predicted / p.peakBytes);
    // A censored point only says the peak was at least peakBytes: penalise under-prediction only.
    if (!p.censored || r < 0) total += huber(r);
  }
  for (const s of logScales) total += PRIOR_WEIGHT * s * s;
  return total;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function clamp(x: number, [lo, hi]: [number, number]): number {
  return Math.min(Math.log(hi), Math.max(Math.log(lo), x));
}

/**
 * Fits the group scales: a coarse grid over the bounded box, then a pattern
 * search that halves its step. Deterministic, derivative-free (the censored
 * hinge has a kink) and fast for the few hundred points a host accumulates.
 */
export function fitCalibration(allPoints: readonly CalibrationPoint[]): CalibrationFit {
  const points = allPoints.slice(-MAX_POINTS);
  const finished = points.filter((p) => !p.censored);
  const censoredRuns = points.length - finished.length;
  const priorResiduals = finished.map((p) => Math.abs(Math.log(predict(p, [0, 0, 0]) / p.peakBytes)));
  if (points.length === 0) {
    return { scales: { ...PRIOR_SCALES }, band: null, runs: 0, censoredRuns: 0, priorError: 0, calibratedError: 0 };
  }

  const bounds = GROUPS.map((g) => SCALE_BOUNDS[g].map(Math.log) as [number, number]);
  let best = [0, 0, 0];
  let bestLoss = loss(points, best);
  const steps = 8;
  for (let i = 0; i <= steps; i++) {
    for (let j = 0; j <= steps; j++) {
      for (let k = 0; k <= steps; k++) {
        const candidate = [i, j, k].map((n, d) => bounds[d]![0] + ((bounds[d]![1] - bounds[d]![0]) * n) / steps);
        const l = loss(points, candidate);
        if (l < bestLoss) {
          bestLoss = l;
          best = candidate;
        }
      }
    }
  }
  let step = 0.25;
  while (step > 1e-4) {
    let improved = false;
    for (let d = 0; d < 3; d++) {
      for (const dir of [-1, 1]) {
        const candidate = [...best];
        candidate[d] = Math.min(bounds[d]![1], Math.max(bounds[d]![0], candidate[d]! + dir * step));
        const l = loss(points, candidate);
        if (l < bestLoss - 1e-12) {
          bestLoss = l;
          best = candidate;
          improved = true;
        }
      }
    }
    if (!improved) step /= 2;
  }

  // Duration: median log ratio of finished runs, shrunk toward the prior by one pseudo-run.
  const durationRatios = finished.filter((p) => p.priorDurationSec > 0 && p.durationSec > 0).map((p) => Math.log(p.durationSec / p.priorDurationSec));
  const durationLog = clamp((median(durationRatios) * durationRatios.length) / (durationRatios.length + 1), DURATION_BOUNDS);

  const residuals = finished.map((p) => Math.log(p.peakBytes / predict(p, best)));
  let band: CalibrationFit['band'] = null;
  if (finished.length >= 3) {
    const spread = 1.4826 * median(residuals.map((r) => Math.abs(r - median(residuals))));
    // Asymmetric: under-predicting a peak costs a killed run, over-predicting only a warning.
    band = { low: Math.exp(-Math.max(0.08, 2 * spread)), high: Math.exp(Math.max(0.15, 2.5 * spread)) };
  }

  const scales: CalibrationScales = {
    weights: Math.exp(best[0]!),
    context: Math.exp(best[1]!),
    fixed: Math.exp(best[2]!),
    duration: Math.exp(durationLog),
  };
  return {
    scales,
    band,
    runs: points.length,
    censoredRuns,
    priorError: median(priorResiduals),
    calibratedError: median(residuals.map(Math.abs)),
  };
}

export interface ConversionOutcome {
  runId: number;
  stageId: number;
  at: number;
  params: ConvertParams;
  config: HfModelConfig | null;
  /** Peak tree RSS measured by the sampler over the stage. */
  peakBytes: number;
  durationSec: number;
  status: 'succeeded' | 'stopped_by_guard';
}

/**
 * The calibration point for a finished or guard-stopped conversion, or null
 * when the model has no estimate (unknown architecture) or nothing was measured.
 */
export function calibrationPoint(outcome: ConversionOutcome): CalibrationPoint | null {
  // The calibration fits the Python converters' memory behaviour; the native converter's few
  // hundred MiB would scale their tens of GiB down (and its own estimate is measured, not fitted).
  if (outcome.params.route === 'native') return null;
  const facts = modelFactsFromConfig(outcome.config);
  if ('ok' in facts || outcome.peakBytes <= 0) return null;
  return pointFromFacts(facts, outcome);
}

function pointFromFacts(facts: ModelFacts, outcome: ConversionOutcome): CalibrationPoint | null {
  const estimate = estimateConversion(facts, conversionOptions(outcome.params));
  if (!estimate.ok) return null;
  const p = outcome.params;
  return {
    runId: outcome.runId,
    stageId: outcome.stageId,
    at: outcome.at,
    groups: priorGroups(estimate, PRIOR_SCALES),
    priorDurationSec: estimate.durationSec.expected,
    peakBytes: outcome.peakBytes,
    durationSec: outcome.durationSec,
    censored: outcome.status === 'stopped_by_guard',
    label: `${facts.family} ${(facts.params / 1e9).toFixed(2)}B, kv ${p.kvCacheMaxLen}, ${p.quantize}, ${p.route}${p.lightweightConversion ? ' lightweight' : ''}${p.maskAsInput ? ' mask_as_input' : ''}`,
  };
}

/** Loads, updates and fits the calibration of this host; the engine owns one. */
export class CalibrationService {
  private state: CalibrationState = { version: 1, points: [] };
  private fit: CalibrationFit = fitCalibration([]);
  private loaded = false;

  constructor(private readonly store: CalibrationStore) {}

  async load(): Promise<void> {
    const stored = await this.store.load();
    const parsed = CalibrationStateSchema.safeParse(stored);
    // Calibration written by an incompatible version is dropped: the priors are a safe fallback.
    this.state = parsed.success ? parsed.data : { version: 1, points: [] };
    this.fit = fitCalibration(this.state.points);
    this.loaded = true;
  }

  /** Adds (or replaces, for the same stage) a run's point and refits. */
  async record(point: CalibrationPoint): Promise<CalibrationFit> {
    if (!this.loaded) await this.load();
    const points = this.state.points.filter((p) => p.stageId !== point.stageId);
    points.push(point);
    this.state = { version: 1, points: points.slice(-MAX_POINTS) };
    await this.store.save(this.state);
    this.fit = fitCalibration(this.state.points);
    return this.fit;
  }

  async reset(): Promise<CalibrationFit> {
    this.state = { version: 1, points: [] };
    await this.store.save(this.state);
    this.fit = fitCalibration([]);
    return this.fit;
  }

  current(): CalibrationFit {
    return this.fit;
  }

  points(): CalibrationPoint[] {
    return [...this.state.points];
  }

  /** What the estimator applies: undefined while no run has been recorded (pure priors). */
  applied(): AppliedCalibration | undefined {
    if (this.fit.runs === 0) return undefined;
    return { scales: this.fit.scales, band: this.fit.band, runs: this.fit.runs };
  }
}

/** The calibration kept in the history database's settings table. */
export function settingsCalibrationStore(settings: { getSetting<T>(key: string): T | null; setSetting(key: string, value: unknown): void }): CalibrationStore {
  const KEY = 'memory.calibration';
  return {
    load: async () => settings.getSetting<CalibrationState>(KEY),
    save: async (state) => settings.setSetting(KEY, state),
  };
}

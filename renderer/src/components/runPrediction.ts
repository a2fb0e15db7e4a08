/**
 * The memory prediction a run's chart may draw: the conversion's predicted
 * peak as recorded when this run started (its preflight, in the run's
 * overrides), and only when this run's own convert stage ran — a retried run
 * that reused the conversion has no prediction for the stages it ran, and a
 * prediction recomputed later (another calibration, another stage's
 * parameters) is not the one the run was started with. Pure, unit-tested.
 */
import type { RunDetail } from '../../../main/common/runs';

export type RunPrediction = { kind: 'peak'; expected: number; high: number } | { kind: 'none'; reason: string } | null;

interface RecordedEstimate {
  memoryEstimate?: { ok?: boolean; reason?: string; peakBytes?: { expected?: number; high?: number } };
}

export function runPrediction(run: Pick<RunDetail, 'stages' | 'overrides'>): RunPrediction {
  const convert = run.stages.find((stage) => stage.kind === 'convert');
  if (!convert) return null;
  if (convert.status === 'reused') return { kind: 'none', reason: 'the conversion was reused from an earlier run, so no stage of this run has a prediction.' };
  const recorded = (Array.isArray(run.overrides?.preflight) ? (run.overrides.preflight as RecordedEstimate[]) : []).find((details) => details?.memoryEstimate);
  const estimate = recorded?.memoryEstimate;
  if (!estimate) return { kind: 'none', reason: 'none was recorded when this run started.' };
  const peak = estimate.peakBytes;
  if (estimate.ok === false || typeof peak?.expected !== 'number' || typeof peak.high !== 'number') return { kind: 'none', reason: estimate.reason ?? 'the estimator had none for this model.' };
  return { kind: 'peak', expected: peak.expected, high: peak.high };
}

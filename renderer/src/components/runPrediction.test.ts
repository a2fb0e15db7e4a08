import { describe, expect, it } from 'vitest';
import type { RunDetail, StageRecord } from '../../../main/common/runs';
import { runPrediction } from './runPrediction';

function stage(kind: StageRecord['kind'], status: StageRecord['status'], params: Record<string, unknown> = {}): StageRecord {
  return { id: 1, runId: 1, idx: 0, kind, params, status, startedAt: null, finishedAt: null, progress: null, phase: null, message: null, exitCode: null, error: null, result: null, peakRssBytes: null, reusedFromStageId: status === 'reused' ? 9 : null };
}

const recorded = { preflight: [{ predictedPeakBytes: 123, tensorsTouched: 4 }, { memoryEstimate: { peakBytes: { low: 1, expected: 2_000, high: 3_000 } } }] };

describe('runPrediction', () => {
  it("takes the conversion's prediction recorded when the run started", () => {
    const run: Pick<RunDetail, 'stages' | 'overrides'> = { stages: [stage('merge', 'succeeded'), stage('convert', 'running', { kvCacheMaxLen: 1024 })], overrides: recorded };
    expect(runPrediction(run)).toEqual({ kind: 'peak', expected: 2_000, high: 3_000 });
  });

  it('has none for a retried run that reused the conversion (never the merge prediction or another stage)', () => {
    const run = { stages: [stage('merge', 'reused'), stage('convert', 'reused'), stage('package', 'failed')], overrides: { preflight: [{ predictedPeakBytes: 123 }] } };
    expect(runPrediction(run)).toMatchObject({ kind: 'none', reason: expect.stringContaining('reused') });
  });

  it('says why when the estimator had none, and is null for runs without a conversion', () => {
    const run = { stages: [stage('convert', 'succeeded')], overrides: { preflight: [{ memoryEstimate: { ok: false, reason: 'the architecture is unknown.' } }] } };
    expect(runPrediction(run)).toEqual({ kind: 'none', reason: 'the architecture is unknown.' });
    expect(runPrediction({ stages: [stage('selftest', 'succeeded')], overrides: null })).toBeNull();
    expect(runPrediction({ stages: [stage('convert', 'succeeded')], overrides: null })).toMatchObject({ kind: 'none' });
  });
});

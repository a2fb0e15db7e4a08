import { describe, expect, it } from 'vitest';
import { RunPlan } from './plan.js';

describe('RunPlan schema', () => {
  it('fills defaults for a minimal self-test plan', () => {
    const plan = RunPlan.parse({ stages: [{ kind: 'selftest', params: {} }] });
    expect(plan.stages[0]).toEqual({ kind: 'selftest', params: { durationSeconds: 6, logLines: 200, failAt: null, allocateMiB: 0 } });
    expect(plan.allowPredictedOom).toBe(false);
  });

  it('refuses an empty plan, an unknown stage kind and bad parameters with a path', () => {
    expect(RunPlan.safeParse({ stages: [] }).success).toBe(false);
    const unknown = RunPlan.safeParse({ stages: [{ kind: 'teleport', params: {} }] });
    expect(unknown.success).toBe(false);
    const bad = RunPlan.safeParse({ stages: [{ kind: 'selftest', params: { durationSeconds: -1 } }] });
    expect(bad.success).toBe(false);
    if (!bad.success) expect(bad.error.issues[0]!.path).toEqual(['stages', 0, 'params', 'durationSeconds']);
  });
});

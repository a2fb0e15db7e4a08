import { describe, expect, it } from 'vitest';
import { RunPlan } from '../../common/stages/plan.js';
import { requireAbsolutePlanPaths, resolvePlanPaths } from './planPaths.js';

describe('plan paths', () => {
  const relative = { stages: [{ kind: 'verify' as const, params: { modelDir: 'model', bundlePath: '../b/x.litertlm' } }, { kind: 'bootstrap' as const, params: { route: 'example' as const, pythonPath: 'python3' } }] };

  it('resolves relative path parameters against a folder and leaves other values alone', () => {
    const resolved = resolvePlanPaths(relative, '/work/plans');
    expect(resolved.stages[0]!.params).toEqual({ modelDir: '/work/plans/model', bundlePath: '/work/b/x.litertlm' });
    // A bare interpreter name is looked up on PATH.
    expect(resolved.stages[1]!.params).toMatchObject({ pythonPath: 'python3' });
  });

  it('refuses a relative path in a plan that reaches the runner, naming the field', () => {
    expect(() => requireAbsolutePlanPaths(RunPlan.parse(relative))).toThrow('stages.0.params.modelDir: "model" is a relative path; give an absolute path');
    expect(() => requireAbsolutePlanPaths(RunPlan.parse(resolvePlanPaths(relative, '/work')))).not.toThrow();
  });
});

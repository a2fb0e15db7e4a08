/**
 * The Verification step's behaviour check becomes an evaluate stage after
 * packaging, on the bundle the run writes; the plan validates.
 */
import { describe, expect, it } from 'vitest';
import { RunPlan } from '../../../main/common/stages/plan';
import { buildPlan, DEFAULT_DRAFT } from './draft';

describe('behaviour check in the wizard plan', () => {
  it('adds an evaluate stage on the packaged bundle only when asked', () => {
    const draft = { ...DEFAULT_DRAFT, modelDir: '/models/base', verify: { ...DEFAULT_DRAFT.verify, behaviour: true } };
    const plan = RunPlan.parse(buildPlan(draft));
    const kinds = plan.stages.map((s) => s.kind);
    expect(kinds[kinds.length - 1]).toBe('evaluate');
    const evaluate = plan.stages[plan.stages.length - 1]!;
    const pkg = plan.stages.find((s) => s.kind === 'package');
    if (evaluate.kind !== 'evaluate') throw new Error('not evaluate');
    if (pkg?.kind === 'package') expect(evaluate.params.bundlePath).toBe(pkg.params.outPath);
    expect(evaluate.params.maxTokens).toBe(48);
    expect(buildPlan({ ...draft, verify: { ...draft.verify, behaviour: false } }).stages.map((s) => s.kind)).not.toContain('evaluate');
  });
});

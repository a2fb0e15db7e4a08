import { describe, expect, it } from 'vitest';
import { RunPlan } from '../../common/stages/plan.js';
import { describePlan } from './runStore.js';

describe('describePlan', () => {
  it('names the model of a run that only checks behaviour (workbench evaluate)', () => {
    const plan = RunPlan.parse({ stages: [{ kind: 'evaluate', params: { modelDir: '/models/qwen-finetune', bundlePath: '/out/model.litertlm' } }] });
    expect(describePlan(plan).model).toBe('qwen-finetune');
  });
});

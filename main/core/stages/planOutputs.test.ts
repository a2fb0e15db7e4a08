import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoPlan } from '../../common/stages/demo.js';
import { RunPlan } from '../../common/stages/plan.js';
import { freshMergeOutputs } from './planOutputs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'plan-outputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('freshMergeOutputs ("Run again" of a run that merged)', () => {
  it('moves a merge whose output holds something to the next free sibling, and every later path into it', () => {
    const out = path.join(dir, 'work');
    const merged = path.join(out, 'merged');
    mkdirSync(merged, { recursive: true });
    writeFileSync(path.join(merged, 'config.json'), '{}');
    mkdirSync(`${merged}-2`); // taken by an earlier re-run
    const plan = RunPlan.parse({
      stages: [
        { kind: 'merge', params: { baseDir: path.join(dir, 'base'), adapterDir: path.join(dir, 'adapter'), outDir: merged } },
        { kind: 'convert', params: { modelDir: merged, outDir: path.join(out, 'tflite'), route: 'native' } },
        { kind: 'package', params: { tflitePath: path.join(out, 'tflite', 'm.tflite'), modelDir: merged, outPath: path.join(out, 'm.litertlm') } },
        { kind: 'evaluate', params: { modelDir: `${merged}/`, bundlePath: path.join(out, 'm.litertlm') } },
      ],
    });
    const fresh = freshMergeOutputs(plan);
    const next = `${merged}-3`;
    expect(fresh.stages.map((s) => (s.params as { outDir?: string; modelDir?: string }).outDir ?? null)).toEqual([next, path.join(out, 'tflite'), null, null]);
    expect(fresh.stages.slice(1).map((s) => path.resolve((s.params as { modelDir: string }).modelDir))).toEqual([next, next, next]);
    // Outputs outside the merged folder stay where they were.
    expect((fresh.stages[2]!.params as { outPath: string }).outPath).toBe(path.join(out, 'm.litertlm'));
  });

  it("moves a demo run's folder that holds a finished demo, and its behaviour checks with it", () => {
    const out = path.join(dir, 'demo', '2026-12-05-20-00-00');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'demo-shipped.litertlm'), 'x');
    const fresh = freshMergeOutputs(RunPlan.parse(demoPlan(out)));
    const next = `${out}-2`;
    expect(fresh.stages.map((s) => s.params)).toMatchObject([
      { outDir: next },
      { modelDir: path.join(next, 'demo-model'), bundlePath: path.join(next, 'demo-shipped.litertlm') },
      { modelDir: path.join(next, 'demo-model'), bundlePath: path.join(next, 'demo-fixed.litertlm') },
    ]);
  });

  it('leaves a plan alone when the merge output is empty or absent', () => {
    const plan = RunPlan.parse({ stages: [{ kind: 'merge', params: { baseDir: path.join(dir, 'base'), adapterDir: path.join(dir, 'adapter'), outDir: path.join(dir, 'absent') } }] });
    expect(freshMergeOutputs(plan)).toBe(plan);
  });
});

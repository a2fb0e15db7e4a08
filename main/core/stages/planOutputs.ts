/**
 * What the stages before a given one in a run plan will write. A preflight
 * runs before anything starts, so the wizard's pipeline (merge → convert →
 * package → verify) names inputs that do not exist yet: the merged folder,
 * the converter's .tflite, the bundle. A preflight checks such an input when
 * its stage runs instead of refusing the plan, and accepts an output folder
 * that an earlier stage or the stage itself will create.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RunPlan } from '../../common/stages/plan.js';
import { isSameOrInside } from '../files/folders.js';
import { STAGE_PATH_PARAMS } from './planPaths.js';

export interface PlanPosition {
  plan: RunPlan;
  stageIndex: number;
}

/** Resolved paths written by the stages before `stageIndex`: folders (merge, convert, demo) and files (package). */
export function earlierStageOutputs({ plan, stageIndex }: PlanPosition): string[] {
  const outputs: string[] = [];
  for (const stage of plan.stages.slice(0, stageIndex)) {
    if (stage.kind === 'merge') outputs.push(path.resolve(stage.params.outDir));
    else if (stage.kind === 'convert') outputs.push(path.resolve(stage.params.outDir));
    else if (stage.kind === 'package') outputs.push(path.resolve(stage.params.outPath));
    else if (stage.kind === 'demo') outputs.push(path.resolve(stage.params.outDir));
  }
  return outputs;
}

/** True when `target` is an earlier stage's output or lies inside an earlier stage's output folder. */
export function producedByEarlierStage(target: string, position: PlanPosition): boolean {
  return earlierStageOutputs(position).some((output) => isSameOrInside(output, target));
}

/**
 * The base folder of the merge earlier in the plan that writes `modelDir`, or
 * null. The merged folder does not exist before the run, but it carries its
 * base's config, tokenizer and templates, so checks read the base instead.
 */
export function mergeBaseOf(modelDir: string, { plan, stageIndex }: PlanPosition): string | null {
  for (const stage of plan.stages.slice(0, stageIndex)) {
    if (stage.kind === 'merge' && path.resolve(stage.params.outDir) === path.resolve(modelDir)) return stage.params.baseDir;
  }
  return null;
}

function holdsSomething(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return existsSync(dir);
  }
}

/**
 * The plan with each merge (or demo) whose output folder already holds something
 * writing to a fresh sibling instead (`merged` → `merged-2`, `-3`, …), and
 * every path of the later stages that pointed into the old folder pointing
 * into the new one. "Run again" of a run that merged: the merge refuses to
 * write over a folder that is not empty, and the old result stays untouched.
 * A demo run's folder moves the same way (its evaluate stages follow it).
 */
export function freshMergeOutputs(plan: RunPlan): RunPlan {
  const moved = new Map<string, string>();
  for (const stage of plan.stages) {
    // A demo's folder too: its stage refuses one that holds a finished demo (never overwritten silently).
    if (stage.kind !== 'merge' && stage.kind !== 'demo') continue;
    const old = path.resolve(stage.params.outDir);
    if (!holdsSomething(old)) continue;
    let n = 2;
    while (existsSync(`${old}-${n}`)) n++;
    moved.set(old, `${old}-${n}`);
  }
  if (moved.size === 0) return plan;
  const remap = (value: string): string => {
    const resolved = path.resolve(value);
    for (const [from, to] of moved) {
      if (isSameOrInside(from, resolved)) return path.join(to, path.relative(from, resolved));
    }
    return value;
  };
  return {
    ...plan,
    stages: plan.stages.map((stage) => {
      const params: Record<string, unknown> = { ...stage.params };
      for (const field of STAGE_PATH_PARAMS[stage.kind]) {
        if (typeof params[field] === 'string') params[field] = remap(params[field] as string);
      }
      return { ...stage, params } as typeof stage;
    }),
  };
}

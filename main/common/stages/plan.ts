/**
 * A run plan: an ordered list of stages with validated parameters. The same
 * schema is accepted by the UI (wizard), the API and `workbench run --plan`.
 */
import { z } from 'zod';
import { BootstrapParams } from './bootstrap.js';
import { ConvertParams } from './convert.js';
import { DemoParams } from './demo.js';
import { EvaluateParams } from './evaluate.js';
import { MergeParams } from './merge.js';
import { PackageParams } from './package.js';
import { RecipesParams } from '../recipes.js';
import { SelftestParams } from './selftest.js';
import { VerifyParams } from './verify.js';

export const StageKind = z.enum(['selftest', 'merge', 'convert', 'package', 'verify', 'bootstrap', 'evaluate', 'recipes', 'demo']);
export type StageKind = z.infer<typeof StageKind>;

export const StagePlan = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('selftest'), params: SelftestParams }),
  z.object({ kind: z.literal('merge'), params: MergeParams }),
  z.object({ kind: z.literal('convert'), params: ConvertParams }),
  z.object({ kind: z.literal('package'), params: PackageParams }),
  z.object({ kind: z.literal('verify'), params: VerifyParams }),
  z.object({ kind: z.literal('bootstrap'), params: BootstrapParams }),
  z.object({ kind: z.literal('evaluate'), params: EvaluateParams }),
  z.object({ kind: z.literal('recipes'), params: RecipesParams }),
  z.object({ kind: z.literal('demo'), params: DemoParams }),
]);
export type StagePlan = z.infer<typeof StagePlan>;
export type StagePlanInput = z.input<typeof StagePlan>;

/** Longest run name a plan may carry. */
export const MAX_RUN_NAME = 200;

/** A run name made from paths, clipped to fit a plan (a legal 240-character file name must not make the plan invalid). */
export function clipRunName(name: string): string {
  return name.length <= MAX_RUN_NAME ? name : `${name.slice(0, MAX_RUN_NAME - 1)}…`;
}

export const RunPlan = z.object({
  name: z.string().max(MAX_RUN_NAME).optional(),
  stages: z.array(StagePlan).min(1).max(20),
  /**
   * Expert override of the memory block: run even though the estimator
   * predicts the host will run out of memory. Recorded with the run.
   */
  allowPredictedOom: z.boolean().default(false),
});
export type RunPlan = z.infer<typeof RunPlan>;
export type RunPlanInput = z.input<typeof RunPlan>;

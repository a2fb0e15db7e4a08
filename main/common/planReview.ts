/**
 * What the wizard's Review page learns about a plan before it starts: for
 * each stage, its predicted peak RAM and duration, what its preflight found
 * and — when the run would be refused — the refusal itself. Produced by
 * main/core/stages/planReview.ts from the same preflights `runs.start` runs,
 * so the page disables Start for exactly what Start would refuse.
 */
import { z } from 'zod';
import { Band } from './memoryEstimate.js';
import { StageKind } from './stages/plan.js';

export const StageReview = z.object({
  kind: StageKind,
  /** Predicted peak RAM of the stage's processes; null with estimateNote when it cannot be predicted. */
  peakBytes: Band.nullable(),
  durationSec: Band.nullable(),
  estimateNote: z.string().nullable(),
  /** The preflight's findings, as the run log would show them. */
  findings: z.array(z.object({ level: z.enum(['info', 'warn']), message: z.string() })),
  /** Why runs.start would refuse the plan at this stage (a blocking problem), or null. */
  refusal: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
});
export type StageReview = z.infer<typeof StageReview>;

export const PlanReview = z.object({
  /** The plan itself is not valid (a field out of range, a relative path): nothing else could be checked. */
  invalid: z.object({ code: z.string(), message: z.string() }).nullable(),
  stages: z.array(StageReview),
});
export type PlanReview = z.infer<typeof PlanReview>;

/**
 * A behaviour-check prompt as the history stores it (one row per prompt per
 * evaluate stage): what the API returns for searches and the Compare page.
 */
import { z } from 'zod';

export const EvaluationRow = z.object({
  runId: z.number().int(),
  stageId: z.number().int(),
  index: z.number().int(),
  label: z.string(),
  prompt: z.string(),
  referenceText: z.string(),
  referenceStopped: z.boolean(),
  bundleText: z.string(),
  bundleStopped: z.boolean(),
  greedyText: z.string(),
  greedyStopped: z.boolean(),
  firstDivergence: z.number().int().nullable(),
  repetition: z.number(),
  top1Agreement: z.number().nullable(),
});
export type EvaluationRow = z.infer<typeof EvaluationRow>;

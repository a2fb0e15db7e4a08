/**
 * API methods of the behaviour-check history: a run's prompts (run page,
 * Compare page) and a text search across every run.
 */
import { z } from 'zod';
import { EvaluationRow } from '../evaluations.js';
import { method } from './define.js';

export const evaluationsMethods = {
  'evaluations.forRun': method(z.object({ runId: z.number().int().positive() }), z.array(EvaluationRow)),
  'evaluations.search': method(z.object({ text: z.string().min(1).max(500) }), z.array(EvaluationRow)),
};

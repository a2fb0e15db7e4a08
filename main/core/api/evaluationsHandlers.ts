/**
 * Handlers of the behaviour-check history methods (rows written by the
 * runner from evaluate stage results; main/core/history/evaluations.ts).
 */
import type { evaluationsMethods } from '../../common/api/evaluations.js';
import { evaluationRows, searchEvaluations } from '../history/evaluations.js';
import type { HandlerFactory } from './handlerTypes.js';

export const evaluationsHandlers: HandlerFactory<keyof typeof evaluationsMethods> = (engine) => ({
  'evaluations.forRun': ({ runId }) => evaluationRows(engine.history.db, runId),
  'evaluations.search': ({ text }) => searchEvaluations(engine.history.db, text),
});

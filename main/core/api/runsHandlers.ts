/**
 * Handlers for run methods: thin, every rule lives in the runner and history.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { runsMethods } from '../../common/api/runs.js';
import { exportReport } from '../report/index.js';
import type { HandlerFactory } from './handlerTypes.js';

export const runsHandlers: HandlerFactory<keyof typeof runsMethods> = (engine) => ({
  'runs.start': async ({ plan }) => ({ id: await engine.runner.start(plan) }),
  'runs.review': ({ plan }) => engine.runner.review(plan),
  'runs.list': ({ status, logQuery, limit, offset }) => engine.history.listRuns({ ...(status ? { status } : {}), ...(logQuery ? { logQuery } : {}), limit, offset }),
  'runs.get': ({ id }) => engine.history.getRun(id),
  'runs.cancel': async ({ id }) => {
    await engine.runner.cancel(id);
    return { ok: true as const };
  },
  'runs.retry': async ({ id }) => ({ id: await engine.runner.retry(id) }),
  'runs.rerun': async ({ id, newOutputs }) => ({ id: await engine.runner.rerun(id, { newOutputs }) }),
  'runs.delete': ({ id }) => {
    if (engine.runner.isActive(id)) {
      throw new WorkbenchError('run_active', `Run ${id} is still running or queued; cancel it before deleting it.`);
    }
    engine.history.deleteRun(id);
    engine.events.publish({ type: 'runDeleted', runId: id });
    return { ok: true as const };
  },
  'runs.logs': ({ id, afterId, limit, stageId, levels }) => ({
    lines: engine.history.getLogs(id, { afterId, limit, ...(stageId !== undefined ? { stageId } : {}), ...(levels ? { levels } : {}) }),
  }),
  'runs.searchLogs': ({ query, runId, limit }) => ({ hits: engine.history.searchLogs(query, { ...(runId !== undefined ? { runId } : {}), limit }) }),
  'runs.exportReport': ({ id, format }) => exportReport(engine.history, id, format),
  'runs.memory': ({ id }) => ({ samples: engine.history.memorySamples(id) }),
});

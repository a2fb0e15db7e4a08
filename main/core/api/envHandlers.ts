/**
 * Handlers for the environment methods: the doctor runs here (on the engine's
 * host, which in serve mode is the remote machine), the bootstrap becomes a run.
 */
import type { envMethods } from '../../common/api/env.js';
import { runDoctor } from '../env/doctor.js';
import type { HandlerFactory } from './handlerTypes.js';

export const envHandlers: HandlerFactory<keyof typeof envMethods> = (engine) => ({
  'env.doctor': ({ outputDir, fresh }) => runDoctor({ dataDir: engine.dataDir, settingsPythonPath: engine.settings.get().pythonPath, ...(outputDir ? { outputDir } : {}), fresh: fresh === true }),
  'env.bootstrap': async ({ route, rebuild }) => ({
    id: await engine.runner.start({ name: `Set up the ${route} environment`, stages: [{ kind: 'bootstrap', params: { route, rebuild } }], allowPredictedOom: false }),
  }),
});

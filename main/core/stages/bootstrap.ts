/**
 * How the environment bootstrap stage is launched: a Python >= 3.10 found
 * outside the venv runs python-env/bootstrap.py, which creates or repairs
 * `<dataDir>/python/venv` for one conversion route (docs/conversion.md).
 */
import type { BootstrapParams } from '../../common/stages/bootstrap.js';
import { bootstrapPython } from '../env/python.js';
import { pythonEnvPath } from '../paths.js';
import { PYTHON_STAGE_ENV } from './convert.js';
import type { StageDefinition, StageLaunch } from './definition.js';

export function bootstrapCommandLine(params: BootstrapParams, ctx: { python: string; paramsFile: string; dataDir: string }): StageLaunch {
  const args = [pythonEnvPath('bootstrap.py'), '--params', ctx.paramsFile, '--data-dir', ctx.dataDir, '--route', params.route];
  if (params.rebuild) args.push('--rebuild');
  if (params.pythonPath) args.push('--python', params.pythonPath);
  if (params.indexUrl) args.push('--index-url', params.indexUrl);
  if (params.extraIndexUrl) args.push('--extra-index-url', params.extraIndexUrl);
  return { file: ctx.python, args, env: { ...PYTHON_STAGE_ENV } };
}

export const bootstrapStage: StageDefinition<'bootstrap'> = {
  kind: 'bootstrap',
  title: 'Set up Python environment',
  launch: async (params, ctx) => {
    const python = await bootstrapPython({ dataDir: ctx.dataDir, settingsPath: params.pythonPath ?? ctx.settings.pythonPath });
    return bootstrapCommandLine(params, { python, paramsFile: ctx.paramsFile, dataDir: ctx.dataDir });
  },
};

/**
 * How the conversion stage is launched: the stage Python (Settings, else the
 * bootstrapped venv, else PATH) runs python-env/stages/convert.py with the
 * parameter file. Also builds the exact converter command a user could run by
 * hand, shown and copyable in the wizard and recorded in the sidecar.
 */
import { existsSync } from 'node:fs';
import { converterCommand, matchExampleBuilder, type ExampleBuilder } from '../../common/converterSupport.js';
import { WorkbenchError } from '../../common/errors.js';
import type { ConvertParams } from '../../common/stages/convert.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { stagePython, venvPython } from '../env/python.js';
import { pythonEnvPath } from '../paths.js';
import type { StageDefinition, StageLaunch } from './definition.js';

/** Environment every Python stage gets: unbuffered UTF-8 lines, no user site-packages leaking in. */
export const PYTHON_STAGE_ENV: Readonly<Record<string, string>> = {
  PYTHONUNBUFFERED: '1',
  PYTHONIOENCODING: 'utf-8',
  PYTHONNOUSERSITE: '1',
};

export function convertCommandLine(_params: ConvertParams, ctx: { python: string; paramsFile: string }): StageLaunch {
  return {
    file: ctx.python,
    args: [pythonEnvPath('stages', 'convert.py'), '--params', ctx.paramsFile],
    env: { ...PYTHON_STAGE_ENV },
  };
}

/**
 * The converter command for these parameters. The example route picks its
 * builder from config.json: pass `configDir` when `modelDir` does not exist
 * yet (a merge earlier in the same run will create it from that base).
 */
export async function equivalentConverterCommand(params: ConvertParams, configDir = params.modelDir): Promise<string> {
  let builder: ExampleBuilder | null = null;
  if (params.route === 'example') {
    const summary = await readHfFolder(configDir);
    if (!summary.config) throw new WorkbenchError('missing_config', `${configDir} has no config.json, so the converter's model builder cannot be chosen.`);
    const match = matchExampleBuilder(summary.config);
    if (!match.ok) throw new WorkbenchError(match.reason, match.message, { hint: 'Use the export_hf route for this model.' });
    builder = match.builder;
  }
  return converterCommand(params, builder);
}

export const convertStage: StageDefinition<'convert'> = {
  kind: 'convert',
  title: 'Convert to LiteRT',
  preflight: async (_params, ctx) => {
    if (ctx.settings.pythonPath || existsSync(venvPython(ctx.dataDir))) return [];
    return [
      {
        level: 'warn',
        message: 'The Python environment has not been set up; the conversion will stop at once and name the missing packages. Set it up on the Environment page first.',
      },
    ];
  },
  launch: async (params, ctx) => {
    const python = await stagePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath });
    return convertCommandLine(params, { python, paramsFile: ctx.paramsFile });
  },
};

/**
 * How the verify stage is launched: the Node stage script
 * (dist/stages/verify.js) with this stage's folder in the run for the report
 * files and, when the numeric comparison is asked for, the stage Python it
 * runs python-env/stages/numeric_fidelity.py with.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { stagePython, venvPython } from '../env/python.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type StageDefinition } from './definition.js';
import { producedByEarlierStage } from './planOutputs.js';

/** True when the numeric comparison is asked for but no Python can run it: the stage then runs the checklist only. */
export function numericWillBeSkipped(params: { numeric: boolean }, ctx: { settings: { pythonPath?: string | null | undefined }; dataDir: string }): boolean {
  return params.numeric && !ctx.settings.pythonPath && !existsSync(venvPython(ctx.dataDir));
}

export const verifyStage: StageDefinition<'verify'> = {
  kind: 'verify',
  title: 'Verify fidelity',
  async preflight(params, ctx) {
    for (const [what, file] of [
      ['model folder', params.modelDir],
      ['bundle', params.bundlePath],
      ...(params.metadataPath ? ([['metadata file', params.metadataPath]] as const) : []),
    ] as const) {
      // The bundle (or merged folder) an earlier stage of this run writes is checked when this stage starts.
      if (producedByEarlierStage(file, ctx)) continue;
      if (!existsSync(path.resolve(file))) throw new WorkbenchError('file_not_found', `The ${what} ${file} does not exist.`, { path: file });
    }
    if (numericWillBeSkipped(params, ctx)) {
      return [{ level: 'warn', message: 'The numeric comparison needs the Python environment (transformers, ai-edge-litert); set it up on the Environment page. Without it the verification runs the checklist, skips the numeric comparison and says so, and the run goes on.' }];
    }
    return [];
  },
  async launch(params, ctx) {
    const launch = nodeLaunch(nodeStageScript('verify'), ctx);
    const env: Record<string, string> = { ...launch.env, WORKBENCH_STAGE_DIR: path.join(ctx.runDir, `verify-${ctx.stageId}`) };
    if (params.numeric) {
      try {
        env.WORKBENCH_PYTHON = await stagePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath });
      } catch (error) {
        // No usable Python: the stage runs the checklist and reports the numeric step as unavailable.
        if (!(error instanceof WorkbenchError)) throw error;
      }
    }
    return { ...launch, env };
  },
};

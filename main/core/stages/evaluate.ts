/**
 * How the evaluate stage (the behaviour check) is launched: the Node stage
 * script with this stage's folder in the run and the stage Python for the
 * reference answers (python-env/stages/reference_answers.py).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { findPythons, stagePython, type FindPythonsOptions } from '../env/python.js';
import { nodeStageScript } from '../paths.js';
import { checkFolderFiles, checkRegularFile } from '../files/folderFiles.js';
import { nodeLaunch, type StageDefinition } from './definition.js';
import { producedByEarlierStage } from './planOutputs.js';

export const evaluateStage: StageDefinition<'evaluate'> = {
  kind: 'evaluate',
  title: 'Behaviour check',
  async preflight(params, ctx) {
    for (const [what, file] of [
      ['model folder', params.modelDir],
      ['bundle', params.bundlePath],
      ...(params.promptsFile ? ([['prompts file', params.promptsFile]] as const) : []),
    ] as const) {
      if (producedByEarlierStage(file, ctx)) continue;
      if (!existsSync(path.resolve(file))) throw new WorkbenchError('file_not_found', `The ${what} ${file} does not exist.`, { path: file });
      // A pipe or device would hang the stage or its Python reference for good.
      if (what === 'model folder') await checkFolderFiles(path.resolve(file));
      else await checkRegularFile(path.resolve(file));
    }
    return [];
  },
  async launch(_params, ctx) {
    const launch = nodeLaunch(nodeStageScript('evaluate'), ctx);
    const env: Record<string, string> = { ...launch.env, WORKBENCH_STAGE_DIR: path.join(ctx.runDir, `evaluate-${ctx.stageId}`) };
    try {
      env.WORKBENCH_PYTHON = await referencePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath });
    } catch (error) {
      // No Python: the stage says so with the hint when it needs the reference answers.
      if (!(error instanceof WorkbenchError)) throw error;
    }
    return { ...launch, env };
  },
};

/**
 * The Python for the reference answers: the one chosen in Settings or the
 * workbench's environment when there is one; otherwise the first Python on
 * the PATH, or the system's /usr/bin/python3 (where the distribution's
 * python3-torch lives), that can import torch (a pyenv shim without it may
 * come first), else the usual stage Python (the stage then names what is missing).
 */
async function referencePython(options: FindPythonsOptions): Promise<string> {
  const candidates = await findPythons(options);
  const chosen = candidates.find((c) => c.source === 'settings') ?? candidates.find((c) => c.source === 'venv' && c.usable);
  if (chosen) return stagePython(options);
  const paths = [...candidates.filter((c) => c.usable).map((c) => c.path), ...(process.platform === 'win32' ? [] : ['/usr/bin/python3'])];
  for (const candidate of [...new Set(paths)]) {
    const ok = await new Promise<boolean>((resolve) => execFile(candidate, ['-c', 'import torch'], { timeout: 60_000 }, (error) => resolve(!error)));
    if (ok) return candidate;
  }
  return stagePython(options);
}

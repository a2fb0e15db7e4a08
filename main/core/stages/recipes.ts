/**
 * How the recipes stage (compare quantizations, issue 16 item 3) is
 * launched: the Node stage script with its folder in the run and the same
 * reference Python as the behaviour check. The preflight refuses a missing
 * model folder, prompts file or a bad corpus before anything is converted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { readCorpus } from '../corpus/read.js';
import { readPromptsFile } from '../evaluate/prompts.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type StageDefinition } from './definition.js';
import { referencePython } from '../env/python.js';
import { producedByEarlierStage } from './planOutputs.js';

export const recipesStage: StageDefinition<'recipes'> = {
  kind: 'recipes',
  title: 'Compare quantizations',
  async preflight(params, ctx) {
    if (!producedByEarlierStage(params.modelDir, ctx) && !existsSync(path.join(path.resolve(params.modelDir), 'config.json'))) {
      throw new WorkbenchError('file_not_found', `The model folder ${params.modelDir} has no config.json.`, { path: params.modelDir });
    }
    if (params.promptsFile) await readPromptsFile(path.resolve(params.promptsFile));
    await readCorpus(params.corpus.file);
    return [];
  },
  async launch(_params, ctx) {
    const launch = nodeLaunch(nodeStageScript('recipes'), ctx);
    const env: Record<string, string> = { ...launch.env, WORKBENCH_STAGE_DIR: path.join(ctx.runDir, `recipes-${ctx.stageId}`) };
    try {
      env.WORKBENCH_PYTHON = (await referencePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath })).path;
    } catch (error) {
      if (!(error instanceof WorkbenchError)) throw error;
    }
    return { ...launch, env };
  },
};

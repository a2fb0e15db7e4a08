/**
 * How the evaluate stage (the behaviour check) is launched: the Node stage
 * script with this stage's folder in the run and the stage Python for the
 * reference answers (python-env/stages/reference_answers.py).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { referencePython } from '../env/python.js';
import { readLitertlmHeader } from '../formats/litertlm.js';
import { nodeStageScript } from '../paths.js';
import { checkFolderFiles, checkRegularFile } from '../files/folderFiles.js';
import { nodeLaunch, type StageDefinition } from './definition.js';
import { readCorpus } from '../corpus/read.js';
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
    // Not a LiteRT-LM bundle: refused before the run starts (one sentence, bad input), never after the reference has run.
    if (!producedByEarlierStage(params.bundlePath, ctx)) readLitertlmHeader(path.resolve(params.bundlePath));
    // A bad corpus (empty, binary, a pipe, a bad JSONL line) is refused before the run starts.
    if (params.corpus && !(params.corpus.file && producedByEarlierStage(params.corpus.file, ctx))) await readCorpus(params.corpus.file);
    return [];
  },
  async launch(_params, ctx) {
    const launch = nodeLaunch(nodeStageScript('evaluate'), ctx);
    const env: Record<string, string> = { ...launch.env, WORKBENCH_STAGE_DIR: path.join(ctx.runDir, `evaluate-${ctx.stageId}`) };
    try {
      env.WORKBENCH_PYTHON = (await referencePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath })).path;
    } catch (error) {
      // No Python: the stage says so with the hint when it needs the reference answers.
      if (!(error instanceof WorkbenchError)) throw error;
    }
    return { ...launch, env };
  },
};

/**
 * The merge stage: a Node child process (dist/stages/merge.js) running the
 * native streaming LoRA merge. The preflight refuses what is knowable before
 * a run starts: missing inputs and an output folder that already holds files.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { checkOutputTarget, requireDirectory } from '../merge/outputFolder.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type StageDefinition } from './definition.js';

export const mergeStage: StageDefinition<'merge'> = {
  kind: 'merge',
  title: 'LoRA merge',
  async preflight(params) {
    const baseDir = path.resolve(params.baseDir);
    const adapterDir = path.resolve(params.adapterDir);
    await requireDirectory(baseDir, 'base model');
    await requireDirectory(adapterDir, 'adapter');
    await access(path.join(adapterDir, 'adapter_config.json')).catch(() => {
      throw new WorkbenchError('adapter_config_missing', `${adapterDir} has no adapter_config.json: it is not a PEFT adapter folder.`);
    });
    await checkOutputTarget(path.resolve(params.outDir), [baseDir, adapterDir]);
    return [];
  },
  launch: async (_params, ctx) => nodeLaunch(nodeStageScript('merge'), ctx),
};

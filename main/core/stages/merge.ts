/**
 * The merge stage: a Node child process (dist/stages/merge.js) running the
 * native streaming LoRA merge. The preflight refuses what is knowable from
 * the headers before a run starts (missing inputs, an output folder that
 * already holds files, an adapter that does not fit the base) and records
 * the predicted peak memory with the run.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import { readSafetensorsHeader, readSafetensorsModel } from '../safetensors/header.js';
import { readAdapterConfig } from '../merge/adapterConfig.js';
import { ADAPTER_WEIGHTS_FILE } from '../merge/merge.js';
import { checkOutputTarget, requireDirectory } from '../merge/outputFolder.js';
import { buildMergePlan, predictMergePeakBytes } from '../merge/plan.js';
import { nodeStageScript } from '../paths.js';
import { checkFolderFiles } from '../files/folderFiles.js';
import { nodeLaunch, type StageDefinition } from './definition.js';

export const mergeStage: StageDefinition<'merge'> = {
  kind: 'merge',
  title: 'LoRA merge',
  async preflight(params) {
    const baseDir = path.resolve(params.baseDir);
    const adapterDir = path.resolve(params.adapterDir);
    await requireDirectory(baseDir, 'base model');
    await requireDirectory(adapterDir, 'adapter');
    // A pipe or device among the files the merge reads would hang it for good.
    await checkFolderFiles(baseDir);
    await checkFolderFiles(adapterDir);
    await access(path.join(adapterDir, 'adapter_config.json')).catch(() => {
      throw new WorkbenchError('adapter_config_missing', `${adapterDir} has no adapter_config.json: it is not a PEFT adapter folder.`);
    });
    await checkOutputTarget(path.resolve(params.outDir), [baseDir, adapterDir]);
    const plan = buildMergePlan(await readAdapterConfig(adapterDir), await readSafetensorsHeader(path.join(adapterDir, ADAPTER_WEIGHTS_FILE)), await readSafetensorsModel(baseDir));
    const predicted = predictMergePeakBytes(plan);
    return [
      {
        level: 'info',
        message: `The merge will change ${plan.touched} tensors (${plan.modules.length} LoRA modules) with a predicted peak of ${formatBytes(predicted)}, whatever the model size.`,
        details: { predictedPeakBytes: predicted, tensorsTouched: plan.touched },
      },
    ];
  },
  launch: async (_params, ctx) => nodeLaunch(nodeStageScript('merge'), ctx),
};

/**
 * The package stage: a Node child process (dist/stages/package.js) running
 * the native .litertlm writer. The preflight refuses, before a run starts,
 * what the packager would refuse: a .tflite that is not one, a model folder
 * without a usable tokenizer, a missing output folder, an output that is an input.
 */
import path from 'node:path';
import { checkPackageInputs } from '../packager/package.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type StageDefinition } from './definition.js';

export const packageStage: StageDefinition<'package'> = {
  kind: 'package',
  title: 'Package .litertlm',
  async preflight(params) {
    const { tflite } = await checkPackageInputs({ tflitePath: path.resolve(params.tflitePath), modelDir: path.resolve(params.modelDir), outPath: path.resolve(params.outPath) });
    return tflite.derived.hasDecodeSignature
      ? []
      : [{ level: 'warn', message: `${path.basename(params.tflitePath)} has no decode signature; the LiteRT-LM runtime expects prefill and decode signatures in the main model.` }];
  },
  launch: async (_params, ctx) => nodeLaunch(nodeStageScript('package'), ctx),
};

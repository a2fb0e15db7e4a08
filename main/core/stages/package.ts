/**
 * The package stage: a Node child process (dist/stages/package.js) running
 * the native .litertlm writer. The preflight refuses, before a run starts,
 * what the packager would refuse: a .tflite that is not one, a model folder
 * without a usable tokenizer, an output folder that cannot be created, an
 * output that is an input. Inputs an earlier stage of the same run will write
 * (the converter's .tflite, the merged folder) are checked when the stage runs.
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { folderCanBeCreated } from '../files/folders.js';
import { checkPackageInputs } from '../packager/package.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type PreflightFinding, type StageDefinition } from './definition.js';
import { producedByEarlierStage } from './planOutputs.js';

export const packageStage: StageDefinition<'package'> = {
  kind: 'package',
  title: 'Package .litertlm',
  async preflight(params, ctx) {
    const tflitePath = path.resolve(params.tflitePath);
    const modelDir = path.resolve(params.modelDir);
    const outPath = path.resolve(params.outPath);
    const pending = [tflitePath, modelDir].filter((input) => producedByEarlierStage(input, ctx));
    if (pending.length === 0) {
      const { tflite } = await checkPackageInputs({ tflitePath, modelDir, outPath });
      return tflite.derived.hasDecodeSignature
        ? []
        : [{ level: 'warn', message: `${path.basename(params.tflitePath)} has no decode signature; the LiteRT-LM runtime expects prefill and decode signatures in the main model.` }];
    }
    if ([tflitePath, modelDir].includes(outPath)) {
      throw new WorkbenchError('bad_package_input', `The output ${params.outPath} is also an input; choose another output file.`, { path: params.outPath });
    }
    if (!producedByEarlierStage(path.dirname(outPath), ctx) && !(await folderCanBeCreated(path.dirname(outPath)))) {
      throw new WorkbenchError('bad_package_input', `The output folder ${path.dirname(outPath)} cannot be created: a file stands in its path.`, { path: path.dirname(outPath) });
    }
    const findings: PreflightFinding[] = [
      { level: 'info', message: `${pending.join(' and ')} will be written by an earlier stage of this run; the package stage checks ${pending.length > 1 ? 'them' : 'it'} when it starts.` },
    ];
    return findings;
  },
  launch: async (_params, ctx) => nodeLaunch(nodeStageScript('package'), ctx),
};

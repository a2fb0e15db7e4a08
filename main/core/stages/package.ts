/**
 * The package stage: a Node child process (dist/stages/package.js) running
 * the native .litertlm writer. The preflight refuses, before a run starts,
 * what the packager would refuse: a .tflite that is not one, a model folder
 * without a usable tokenizer, metadata the bundle must not carry (token ids
 * past the vocabulary, a max_num_tokens beyond the KV cache, …), an output
 * folder that cannot be created, an output that is an input. Inputs an
 * earlier stage of the same run will write (the converter's .tflite, the
 * merged folder) are checked when the stage runs; the metadata is then
 * checked against the merge's base folder and the conversion's context.
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { metadataProblems } from '../../common/metadataChecks.js';
import type { PackageParams } from '../../common/stages/package.js';
import { readTflite } from '../formats/tflite.js';
import { checkOutPath, checkPackageInputs } from '../packager/package.js';
import { deriveLlmMetadata } from '../packager/metadata.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type PreflightContext, type PreflightFinding, type StageDefinition } from './definition.js';
import { mergeBaseOf, producedByEarlierStage } from './planOutputs.js';

export const packageStage: StageDefinition<'package'> = {
  kind: 'package',
  title: 'Package .litertlm',
  async preflight(params, ctx) {
    const tflitePath = path.resolve(params.tflitePath);
    const modelDir = path.resolve(params.modelDir);
    const outPath = path.resolve(params.outPath);
    const pending = [tflitePath, modelDir].filter((input) => producedByEarlierStage(input, ctx));
    const findings: PreflightFinding[] = [];
    if (pending.length === 0) {
      const { tflite } = await checkPackageInputs({ tflitePath, modelDir, outPath, overwrite: params.overwrite });
      if (!tflite.derived.hasDecodeSignature) {
        findings.push({ level: 'warn', message: `${path.basename(params.tflitePath)} has no decode signature; the LiteRT-LM runtime expects prefill and decode signatures in the main model.` });
      }
    } else {
      // The packager's own output check; a folder an earlier stage will make counts as one that can be created.
      await checkOutPath(outPath, [tflitePath, modelDir], { overwrite: params.overwrite });
      // A .tflite no earlier stage writes must be one now (a merge writing the model folder does not make it).
      if (!pending.includes(tflitePath)) readTflite(tflitePath);
      findings.push({ level: 'info', message: `${pending.join(' and ')} will be written by an earlier stage of this run; the package stage checks ${pending.length > 1 ? 'them' : 'it'} when it starts.` });
    }
    await refuseBadMetadata(params, ctx, { tflitePending: pending.includes(tflitePath), modelPending: pending.includes(modelDir) });
    return findings;
  },
  launch: async (_params, ctx) => nodeLaunch(nodeStageScript('package'), ctx),
};

/**
 * Edited metadata (the wizard's editor, a plan's metadataOverrides) checked
 * against what it will be packaged with, before the run starts rather than
 * after a conversion of half an hour.
 */
async function refuseBadMetadata(params: PackageParams, ctx: PreflightContext, pending: { tflitePending: boolean; modelPending: boolean }): Promise<void> {
  if (!params.metadata && !params.metadataOverrides) return;
  // A merged folder has its base's tokenizer and configs; a converted .tflite the planned context.
  const readableModelDir = pending.modelPending ? mergeBaseOf(params.modelDir, ctx) : params.modelDir;
  if (!readableModelDir) return;
  const conversion = ctx.plan.stages.slice(0, ctx.stageIndex).find((s) => s.kind === 'convert');
  const tflite = pending.tflitePending ? null : readTflite(path.resolve(params.tflitePath));
  const derived = await deriveLlmMetadata(path.resolve(readableModelDir), tflite);
  const metadata = params.metadata ?? { ...derived.metadata, ...params.metadataOverrides };
  const kvCacheLength = derived.limits.kvCacheLength ?? (conversion?.kind === 'convert' ? conversion.params.kvCacheMaxLen : null);
  const problems = metadataProblems(metadata, { vocabSize: derived.limits.vocabSize, kvCacheLength });
  if (problems.length > 0) {
    throw new WorkbenchError('bad_metadata', `The edited metadata cannot be packaged: ${problems.map((p) => p.message).join(' ')}`, { problems });
  }
}

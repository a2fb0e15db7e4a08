/**
 * How the conversion stage is launched. The native route runs the
 * workbench's own converter as a Node stage (dist/stages/convertNative.js);
 * the Python routes run python-env/stages/convert.py with the stage Python
 * (Settings, else the bootstrapped venv, else PATH). Also builds the exact
 * command a user could run by hand, shown and copyable in the wizard and
 * recorded in the sidecar.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { converterCommand, matchExampleBuilder, type ExampleBuilder } from '../../common/converterSupport.js';
import { WorkbenchError } from '../../common/errors.js';
import { untrainedContextWarning } from '../../common/memoryEstimate.js';
import type { ConvertParams } from '../../common/stages/convert.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { stagePython, venvPython } from '../env/python.js';
import { nodeStageScript, pythonEnvPath } from '../paths.js';
import { freeBytes } from '../merge/outputFolder.js';
import { checkBlockable, int4BlockSizeOf } from '../nativeConvert/blockwise.js';
import { readDecoderConfig } from '../nativeConvert/convertModel.js';
import { nativeOutputPath } from '../nativeConvert/outputPath.js';
import { QUANTIZED_BYTES_PER_PARAM, modelFactsFromConfig } from '../memory/estimator.js';
import { formatBytes } from '../../common/format.js';
import { conversionMemoryPreflight } from '../memory/preflight.js';
import { checkFolderFiles } from '../files/folderFiles.js';
import { checkFileName } from '../files/fileName.js';
import { nodeLaunch, type PreflightContext, type PreflightFinding, type StageDefinition, type StageLaunch } from './definition.js';
import { mergeBaseOf } from './planOutputs.js';

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

/** When a merge earlier in the run writes this stage's input, its base model has the same config.json. */
function configDirFor(params: ConvertParams, ctx: PreflightContext): string {
  return mergeBaseOf(params.modelDir, ctx) ?? params.modelDir;
}

/**
 * What the native route refuses before a run starts: a model it cannot build
 * (one sentence naming the config field, pointing at export_hf), an int4
 * block size the weights' input dimensions do not divide (naming the first
 * such tensor) and an output disk that cannot hold the file.
 */
async function nativePreflight(params: ConvertParams, ctx: PreflightContext): Promise<PreflightFinding[]> {
  const config = await readDecoderConfig(configDirFor(params, ctx));
  // Blockwise int4: every weight's input dimension must split into whole blocks (the converter refuses the same way).
  const block = int4BlockSizeOf(params.quantize);
  if (block) {
    // Hugging Face names shared by every family built natively (the widths: hidden, heads × head_dim, intermediate).
    checkBlockable('model.embed_tokens.weight', config.hiddenSize, block);
    checkBlockable('model.layers.0.self_attn.o_proj.weight', config.heads * config.headDim, block);
    checkBlockable('model.layers.0.mlp.down_proj.weight', config.intermediateSize, block);
  }
  const out = nativeOutputPath(params, config.family.name);
  checkFileName(out);
  const findings: PreflightFinding[] = [{ level: 'info', message: `The native converter will write ${out} (${config.architecture}, no Python needed).` }];
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new WorkbenchError('not_a_file', `${out} is a folder: --out names the .tflite file to write (e.g. ${path.join(out, 'model.tflite')}); use --out-dir for a folder.`, { path: out });
  }
  if (existsSync(out)) findings.push({ level: 'warn', message: `${out} exists; it is replaced only once the new file is complete.` });
  const facts = modelFactsFromConfig((await readHfFolder(configDirFor(params, ctx))).config);
  if (!('ok' in facts)) {
    const expected = facts.params * QUANTIZED_BYTES_PER_PARAM[params.quantize];
    let dir = path.dirname(out);
    while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    const free = await freeBytes(dir);
    if (free !== null && free < expected * 1.1) {
      throw new WorkbenchError('out_of_disk', `The .tflite needs about ${formatBytes(expected)} but ${dir} has ${formatBytes(free)} free; free space or choose another output folder.`, { path: dir });
    }
  }
  return findings;
}

export const convertStage: StageDefinition<'convert'> = {
  kind: 'convert',
  title: 'Convert to LiteRT',
  preflight: async (params, ctx) => {
    const findings: PreflightFinding[] = [];
    // A pipe or device among the model's files would hang the converter (or, here, the engine's file threads).
    await checkFolderFiles(configDirFor(params, ctx));
    if (!mergeBaseOf(params.modelDir, ctx)) await checkFolderFiles(path.resolve(params.modelDir));
    if (params.route === 'native') findings.push(...(await nativePreflight(params, ctx)));
    else if (!ctx.settings.pythonPath && !existsSync(venvPython(ctx.dataDir))) {
      findings.push({
        level: 'warn',
        message: 'The Python environment has not been set up; the conversion will stop at once and name the missing packages. Set it up on the Environment page first.',
      });
    }
    // Throws predicted_oom (the run is refused) unless the expert override is on.
    findings.push(
      ...(await conversionMemoryPreflight(params, {
        allowPredictedOom: ctx.allowPredictedOom,
        stopUsedFraction: ctx.settings.memory.stopUsedFraction,
        calibration: ctx.memory.calibration(),
        configDir: configDirFor(params, ctx),
        host: await ctx.memory.hostMemory(),
      })),
    );
    const config = await readHfFolder(configDirFor(params, ctx)).then((folder) => folder.config).catch(() => null);
    const untrained = untrainedContextWarning(params.kvCacheMaxLen, config?.maxPositionEmbeddings ?? null);
    if (untrained) findings.push({ level: 'warn', message: untrained });
    return findings;
  },
  launch: async (params, ctx) => {
    if (params.route === 'native') return nodeLaunch(nodeStageScript('convertNative'), ctx);
    const python = await stagePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath });
    return convertCommandLine(params, { python, paramsFile: ctx.paramsFile });
  },
};

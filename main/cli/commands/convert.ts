/**
 * `workbench convert --model DIR --out FILE.tflite`: converts a Hugging Face
 * checkpoint into a LiteRT-LM-ready .tflite as a one-stage run (same runner,
 * memory guard and history as the app). The route is `native` (the
 * workbench's own streaming converter) unless --route names a Python one.
 * Progress goes to stderr; the summary (or, with --json, exactly one JSON
 * object) to stdout. Ctrl-C cancels and leaves no partial output.
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes, formatDuration, STATUS_LABELS } from '../../common/format.js';
import { ConvertParams, ConvertRoute, DEFAULT_PREFILL_SEQ_LENS, Quantization } from '../../common/stages/convert.js';
import { readDecoderConfig } from '../../core/nativeConvert/convertModel.js';
import { nativeOutputPath } from '../../core/nativeConvert/outputPath.js';
import { exitCodeForRun, runInTerminal } from '../runInTerminal.js';
import { EXIT, type CliCommand } from '../context.js';
import { clipRunName } from '../../common/stages/plan.js';

/** Error codes that mean "your inputs are wrong", not "the conversion broke". */
/** `--prefill ''` must not silently mean the defaults. */
export const EMPTY_PREFILL = '--prefill needs at least one length (for example --prefill 8,64,128); leave it out for the defaults.';

const BAD_INPUT = /^(not_a_file|file_too_large|bad_config|bad_checkpoint|bad_weights|bad_params|missing_weights|missing_config|unmerged_lora|unsupported_|safetensors_|not_a_folder|not_writable|output_unwritable|out_of_disk|disk_full|file_not_found|not_model_folder)/;

function usageError(message: string): never {
  throw new WorkbenchError('usage', message);
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) usageError(`--${flag} expects a whole number, got "${value}".`);
  return n;
}

export const convertCommand: CliCommand = {
  name: 'convert',
  summary: 'Convert a Hugging Face checkpoint to a LiteRT-LM-ready .tflite (native: bounded memory, no Python)',
  usage: `workbench convert --model DIR (--out FILE.tflite | --out-dir DIR [--prefix NAME]) [--quant Q] [--kv N]
                  [--prefill 8,64,...] [--kv-layout btnh|transposed] [--route native|example|export_hf]
                  [--allow-predicted-oom] [--json]
  --model DIR          Hugging Face model folder (config.json + safetensors; merge LoRA adapters first)
  --out FILE.tflite    the output file (native route)
  --out-dir DIR        output folder instead; the file is <prefix>_<quant>_ekv<kv>.tflite
  --prefix NAME        file name prefix with --out-dir (default: the model family, e.g. qwen2)
  --quant Q            none | fp16 | dynamic_int8 (default) | weight_only_int8 |
                       dynamic_int4_block32 | dynamic_int4_block128 (blockwise int4; every input
                       dimension a multiple of the block)
  --kv N               context length: KV-cache entries, prompt + answer (default 4096)
  --prefill LIST       prefill signature lengths (default 8,64,128,256,512,1024, those ≤ --kv)
  --kv-layout L        btnh (default, [1,S,G,H]) or transposed (K [1,G,S,H], V [1,G,H,S])
  --route R            native (default) | example | export_hf (Python, needs the environment)
  --allow-predicted-oom  start although the estimate says this host runs out of memory
  --json               print one JSON object: tflite, bytes, sha256, signatures, seconds, …`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        out: { type: 'string' },
        'out-dir': { type: 'string' },
        prefix: { type: 'string' },
        quant: { type: 'string', default: 'dynamic_int8' },
        kv: { type: 'string', default: '4096' },
        prefill: { type: 'string' },
        'kv-layout': { type: 'string', default: 'btnh' },
        route: { type: 'string', default: 'native' },
        'allow-predicted-oom': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.model || (!values.out && !values['out-dir'])) {
      ctx.err(`error: missing ${!values.model ? '--model' : '--out (or --out-dir)'}.\n\nUsage: ${this.usage}`);
      return EXIT.usage;
    }
    const route = ConvertRoute.safeParse(values.route);
    if (!route.success) usageError(`--route must be one of ${ConvertRoute.options.join(', ')}, got "${values.route}".`);
    const quant = Quantization.safeParse(values.quant);
    if (!quant.success) usageError(`--quant must be one of ${Quantization.options.join(', ')}, got "${values.quant}".`);
    const layout = values['kv-layout'];
    if (layout !== 'btnh' && layout !== 'transposed') usageError(`--kv-layout must be btnh or transposed, got "${layout}".`);
    if (values.out && values['out-dir']) usageError('Give either --out FILE.tflite or --out-dir DIR, not both.');
    if (values.out && !/\.tflite$/i.test(values.out)) usageError(`--out names the .tflite file to write; "${values.out}" does not end in .tflite (use --out-dir for a folder).`);
    if (values.out && route.data !== 'native') usageError('The Python routes name their output themselves: give --out-dir DIR instead of --out.');
    const kv = wholeNumber('kv', values.kv);
    if (values.prefill !== undefined && values.prefill.trim() === '') throw new WorkbenchError('usage', EMPTY_PREFILL);
    const prefill = values.prefill ? values.prefill.split(',').map((v) => wholeNumber('prefill', v)) : DEFAULT_PREFILL_SEQ_LENS.filter((t) => t <= kv);

    // Relative to where the command is typed (the stage itself runs in the run's folder).
    const outFile = values.out ? path.resolve(values.out) : undefined;
    const parsed = ConvertParams.safeParse({
      modelDir: path.resolve(values.model),
      outDir: outFile ? path.dirname(outFile) : path.resolve(values['out-dir']!),
      ...(outFile ? { outFile } : {}),
      ...(values.prefix ? { outputNamePrefix: values.prefix } : {}),
      route: route.data,
      kvCacheMaxLen: kv,
      prefillSeqLens: prefill.length > 0 ? prefill : [kv],
      quantize: quant.data,
      transposeKvCache: layout === 'transposed',
    });
    if (!parsed.success) usageError(parsed.error.issues.map((i) => i.message).join(' '));
    const params = parsed.data;

    let run;
    try {
      await requireFolder(params.modelDir);
      run = await runInTerminal(
        ctx.engine(),
        ctx,
        { name: clipRunName(`convert → ${outFile ?? params.outDir}`), stages: [{ kind: 'convert', params }], allowPredictedOom: values['allow-predicted-oom'] },
        { quiet: values.json, cancelNote: 'Ctrl-C cancels it and removes the partial output.' },
      );
    } catch (error) {
      // Refused before the run started (preflight): an unsupported model, no disk space, predicted out of memory.
      if (!values.json || !(error instanceof WorkbenchError)) throw error;
      ctx.out(JSON.stringify({ runId: null, status: 'refused', error: error.toData() }));
      return error.code === 'predicted_oom' ? EXIT.refused : EXIT.badInput;
    }
    const stage = run.stages[0];
    const result = (stage?.result ?? null) as Record<string, unknown> | null;
    if (run.status !== 'succeeded' && params.route === 'native') await removeOwnPartial(params);
    if (values.json) {
      ctx.out(
        JSON.stringify({
          runId: run.id,
          status: run.status,
          error: stage?.error ?? null,
          peakRssBytes: run.peakRssBytes,
          ...(result ?? {}),
        }),
      );
    } else if (result && typeof result.tflite === 'string') {
      ctx.out(`Converted: ${result.tflite}`);
      ctx.out(`  ${result.architecture} · ${result.quantize} · context ${result.kvCacheMaxLen} · KV layout ${result.kvLayout}`);
      ctx.out(`  signatures: ${(result.signatures as string[]).join(', ')}`);
      ctx.out(`  size: ${formatBytes(result.bytes as number)}  sha256 ${result.sha256}`);
      ctx.out(`  time: ${formatDuration((result.seconds as number) * 1000)}, peak RSS ${formatBytes(run.peakRssBytes ?? (result.peakRssBytes as number))}`);
      for (const warning of Array.isArray(result.warnings) ? (result.warnings as string[]) : []) ctx.out(`  warning: ${warning}`);
      ctx.out(`Next: workbench package --tflite ${shellWord(result.tflite)} --model ${shellWord(params.modelDir)} --out model.litertlm`);
    } else if (result) {
      ctx.out(`Run ${run.id} ${STATUS_LABELS[run.status] ?? run.status}; output in ${params.outDir}.`);
    } else {
      ctx.out(`Run ${run.id} ${STATUS_LABELS[run.status] ?? run.status}.`);
    }
    return run.status === 'failed' && stage?.error && BAD_INPUT.test(stage.error.code) ? EXIT.badInput : exitCodeForRun(run.status);
  },
};

/** --model naming a file (often config.json itself) would surface as ENOTDIR deep in the reader: one sentence instead. */
async function requireFolder(modelDir: string): Promise<void> {
  const info = await stat(modelDir).catch(() => null);
  if (info && !info.isDirectory()) {
    throw new WorkbenchError('not_a_folder', `${modelDir} is a file: --model names the model's folder (the one that holds config.json), here ${path.dirname(modelDir)}.`, { path: modelDir });
  }
}

/**
 * A stage child that dies without cleaning up (killed, out of memory) leaves
 * `<out>.partial` behind; this command started that conversion, so it
 * removes the partial file it owns once the child is gone (never the
 * finished output, never anything else).
 */
async function removeOwnPartial(params: ConvertParams): Promise<void> {
  try {
    const family = params.outFile ? 'unused' : (await readDecoderConfig(params.modelDir)).family.name;
    await rm(`${nativeOutputPath(params, family)}.partial`, { force: true });
  } catch {
    // Nothing to remove, or the config cannot be read (then the stage never started writing).
  }
}

function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'"'"'`)}'`;
}

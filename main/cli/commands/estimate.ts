/**
 * `workbench estimate`: the predicted peak RAM and duration of a conversion
 * over context lengths 512 … 32768, judged against this host's RAM — the
 * same table the wizard's context picker shows.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { FormatErrorCode, type HfFolderSummary, type HfModelConfig } from '../../common/formats.js';
import { untrainedContextWarning, type ContextRow, type ContextTable } from '../../common/memoryEstimate.js';
import { ConvertOptions, ConvertRoute, DEFAULT_PREFILL_SEQ_LENS, Quantization } from '../../common/stages/convert.js';
import { readHfFolder } from '../../core/formats/hfFolder.js';
import { readDecoderConfig } from '../../core/nativeConvert/convertModel.js';
import { buildContextTable } from '../../core/memory/contextTable.js';
import { calibrationFor } from '../../core/memory/engineMemory.js';
import { formatBytes } from '../../core/memory/estimator.js';
import { decisionHostMemory, parseByteSize, SIMULATE_HOST_RAM_ENV, simulatedHostBytes } from '../../core/memory/decisionHost.js';
import { EXIT, type CliCommand } from '../context.js';
import { renderTable } from '../table.js';
import { EMPTY_PREFILL } from './convert.js';

function positiveInt(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new WorkbenchError('usage', `${flag} expects a whole number from ${min} to ${max}, got "${value}".`);
  return n;
}

/** The flag behind each ConvertOptions field, to name it when a field bound (not a cross-field rule) refuses a value. */
const FLAG_OF: Record<string, string> = {
  route: '--route',
  kvCacheMaxLen: '--kv',
  prefillSeqLens: '--prefill',
  quantize: '--quant',
  lightweightConversion: '--lightweight',
  maskAsInput: '--mask-as-input',
};

/**
 * The options through the same schema and rules a run's convert stage uses,
 * so estimate never prints figures for a setting `workbench run` refuses.
 */
function validatedOptions(input: Record<string, unknown>): ConvertOptions {
  const parsed = ConvertOptions.safeParse(input);
  if (parsed.success) return parsed.data;
  const sentences = parsed.error.issues.map((issue) =>
    // Cross-field rules already say which settings clash; a bare field bound needs its flag named.
    issue.code === 'custom' ? issue.message : `${FLAG_OF[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}.`,
  );
  throw new WorkbenchError('usage', sentences.join(' '));
}

/**
 * config.json is all an estimate reads, so a folder without it — empty, or
 * holding only tokenizer files — is bad input rather than "no estimate".
 */
async function readModelConfig(dir: string): Promise<HfModelConfig> {
  let folder: HfFolderSummary | null = null;
  try {
    folder = await readHfFolder(dir);
  } catch (error) {
    // The reader refuses a folder with none of its marker files before it looks for config.json.
    const emptyFolder = error instanceof WorkbenchError && error.code === FormatErrorCode.notModelFolder && (await stat(dir)).isDirectory();
    if (!emptyFolder) throw error;
  }
  if (!folder?.config) {
    throw new WorkbenchError('missing_config', `${dir} has no config.json, which the estimate needs for the model's architecture and sizes.`, {
      hint: 'Point --model at the folder transformers saved the model to (the one that holds config.json).',
    });
  }
  return folder.config;
}

/**
 * The route `convert` takes for this model: native where the native
 * converter builds it — asked of the converter's own decision
 * (readDecoderConfig, the one `convert` and the run's preflight call), never a
 * copy of its list — else the example route. An explicit `--route native` for
 * a model the converter refuses is refused with convert's own sentence.
 */
async function routeFor(modelDir: string, requested: string | undefined): Promise<{ route: ConvertRoute; note: string | null }> {
  if (requested !== undefined) {
    const route = ConvertRoute.safeParse(requested);
    if (!route.success) throw new WorkbenchError('usage', `--route must be one of ${ConvertRoute.options.join(', ')}; got "${requested}".`);
    if (route.data === 'native') await readDecoderConfig(modelDir);
    return { route: route.data, note: null };
  }
  try {
    await readDecoderConfig(modelDir);
    return { route: 'native', note: null };
  } catch (error) {
    if (!(error instanceof WorkbenchError)) throw error;
    return { route: 'example', note: `Estimated for the example route (Python), because the native route does not build this model: ${error.message}` };
  }
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const FIT_LABEL: Record<string, string> = { fits: 'fits', tight: 'TIGHT', blocked: 'BLOCKED', unknown: '?' };

function rowCells(row: ContextRow, chosen: number): string[] {
  const mark = row.kvCacheMaxLen === chosen ? '▶ ' : '  ';
  if (!row.estimate.ok) return [`${mark}${row.kvCacheMaxLen}`, '—', '—', '—', FIT_LABEL.unknown!, row.estimate.reason, '—'];
  const p = row.estimate.peakBytes;
  return [
    `${mark}${row.kvCacheMaxLen}`,
    formatBytes(p.expected),
    `${formatBytes(p.low)} – ${formatBytes(p.high)}`,
    duration(row.estimate.durationSec.expected),
    FIT_LABEL[row.verdict.fit] ?? row.verdict.fit,
    row.estimate.peakPhase,
    row.device ? `${formatBytes(row.device.totalBytes)}${row.device.fit === 'blocked' ? ' BLOCKED' : ''}` : '—',
  ];
}

/** --host-ram, --device-ram: a RAM size (16G, 128GiB, 512M), or a usage error naming the option. */
function byteSizeOption(value: string, option: string): number {
  try {
    return parseByteSize(value, option);
  } catch (error) {
    throw new WorkbenchError('usage', (error as Error).message);
  }
}

export const estimateCommand: CliCommand = {
  name: 'estimate',
  summary: 'Predict the peak RAM and duration of a conversion for each context length on this host',
  usage: `workbench estimate --model DIR [--kv 4096] [--quant dynamic_int8] [--prefill 8,64,128,256,512,1024]
                   [--route native|example|export_hf] [--lightweight] [--mask-as-input] [--host-ram SIZE]
                   [--device-ram SIZE] [--json]
  --host-ram SIZE    plan for another host with this much RAM, all of it free (e.g. 128G for a remote
                     server); default: this host, or WORKBENCH_SIMULATE_HOST_RAM when set
  --route R          default: the route convert takes — native where the native converter builds
                     the model, else example
  --device-ram SIZE  RAM of the device the model is for (default 8G, a phone): the DEVICE column is
                     the converted model's memory there (weights + KV cache + working memory)`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        kv: { type: 'string', default: '4096' },
        quant: { type: 'string', default: 'dynamic_int8' },
        prefill: { type: 'string' },
        route: { type: 'string' },
        lightweight: { type: 'boolean', default: false },
        'mask-as-input': { type: 'boolean', default: false },
        'host-ram': { type: 'string' },
        'device-ram': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.model) throw new WorkbenchError('usage', 'Name the model folder with --model DIR (a Hugging Face folder with config.json).');
    const kv = positiveInt('--kv', values.kv, 16, 262_144);
    const quantize = Quantization.safeParse(values.quant);
    if (!quantize.success) throw new WorkbenchError('usage', `--quant must be one of ${Quantization.options.join(', ')}; got "${values.quant}".`);
    if (values.route !== undefined && !ConvertRoute.safeParse(values.route).success) {
      throw new WorkbenchError('usage', `--route must be one of ${ConvertRoute.options.join(', ')}; got "${values.route}".`);
    }
    if (values.prefill !== undefined && values.prefill.trim() === '') throw new WorkbenchError('usage', EMPTY_PREFILL);
    const config = await readModelConfig(values.model);
    const { route, note: routeNote } = await routeFor(values.model, values.route);
    const prefillSeqLens = values.prefill
      ? values.prefill.split(',').map((p) => positiveInt('--prefill', p.trim(), 1, 262_144))
      : [...DEFAULT_PREFILL_SEQ_LENS];
    const options = validatedOptions({
      route,
      kvCacheMaxLen: kv,
      prefillSeqLens,
      quantize: quantize.data,
      lightweightConversion: values.lightweight,
      maskAsInput: values['mask-as-input'],
    });

    // The same host every other memory decision uses (the wizard, the preflight, the guard), unless planning for another one.
    const plannedBytes = values['host-ram'] !== undefined ? byteSizeOption(values['host-ram'], '--host-ram') : null;
    const simulatedBytes = simulatedHostBytes();
    const [host, calibration] = await Promise.all([
      plannedBytes !== null ? { total: plannedBytes, available: plannedBytes, swapTotal: 0, swapUsed: 0 } : decisionHostMemory(),
      calibrationFor(ctx.engine().history),
    ]);
    const stopUsedFraction = ctx.engine().settings.get().memory.stopUsedFraction;
    const table: ContextTable = buildContextTable({
      config,
      options: {
        prefillSeqLens: options.prefillSeqLens,
        quantize: options.quantize,
        route: options.route,
        lightweightConversion: options.lightweightConversion,
        maskAsInput: options.maskAsInput,
      },
      hostTotalBytes: host.total,
      hostAvailableBytes: host.available,
      stopUsedFraction,
      extraContexts: [kv],
      calibration: calibration.applied(),
      ...(values['device-ram'] !== undefined ? { deviceRamBytes: byteSizeOption(values['device-ram'], '--device-ram') } : {}),
    });
    const chosen = table.rows.find((r) => r.kvCacheMaxLen === kv)!;
    const untrained = untrainedContextWarning(kv, config.maxPositionEmbeddings);
    const warnings = untrained ? [untrained] : [];

    if (values.json) {
      ctx.out(JSON.stringify({ ...table, route, routeNote, chosen: { kvCacheMaxLen: kv, verdict: chosen.verdict, warnings } }, null, 2));
      return EXIT.ok;
    }

    if (table.noEstimate) {
      ctx.out(`No estimate: ${table.noEstimate.reason}`);
      return EXIT.ok;
    }
    const model = table.model!;
    const chosenOptions = [options.route, options.quantize, `prefill ${options.prefillSeqLens.join(',')}`, options.lightweightConversion ? 'lightweight' : '', options.maskAsInput ? 'mask_as_input' : ''].filter(Boolean).join(', ');
    ctx.out(`Model: ${values.model} (${model.family}, ${(model.params / 1e9).toFixed(2)}B parameters) — ${chosenOptions}`);
    if (routeNote) ctx.out(routeNote);
    const hostLabel =
      plannedBytes !== null
        ? 'Planned host (--host-ram)'
        : simulatedBytes !== null
          ? `Simulated host (${SIMULATE_HOST_RAM_ENV})`
          : 'Host';
    ctx.out(
      `${hostLabel}: ${formatBytes(table.host.totalBytes)} RAM, ${formatBytes(table.host.availableBytes)} available; a stage may use ${formatBytes(table.host.budgetBytes)} before the guard stops it at ${Math.round(stopUsedFraction * 100)}% in use.`,
    );
    ctx.out(
      table.calibration.calibrated
        ? `Calibrated from ${table.calibration.runs} conversion(s) on this host.`
        : 'Prior coefficients (no conversion recorded on this host yet).',
    );
    ctx.out('');
    ctx.out(`Device: ${formatBytes(table.device.ramBytes)} RAM, about ${formatBytes(table.device.usableBytes)} of it usable by one app (DEVICE: the converted model's memory there).`);
    ctx.out('');
    ctx.out(renderTable(['CONTEXT', 'PEAK RAM', 'RANGE', 'DURATION', 'FIT', 'PEAK PHASE', 'DEVICE'], table.rows.map((r) => rowCells(r, kv))));
    ctx.out('');
    ctx.out(`Context ${kv}: ${chosen.verdict.reason}`);
    if (chosen.device?.fit === 'blocked') ctx.out(chosen.device.reason);
    for (const warning of warnings) ctx.out(`Warning: ${warning}`);
    const notes = chosen.estimate.ok ? chosen.estimate.notes : [];
    for (const note of notes) ctx.out(`Note: ${note}`);
    ctx.out(
      table.largestSafe !== null
        ? `Largest safe context: ${table.largestSafe}${table.largestTight !== null && table.largestTight > table.largestSafe ? ` (up to ${table.largestTight} if you accept a tight fit)` : ''}.`
        : table.largestTight !== null
          ? `No context fits with margin; ${table.largestTight} fits only tightly.`
          : 'No context length fits this host; try --mask-as-input, --route export_hf --lightweight, or a bigger host (serve mode).',
    );
    if (table.contextCap) ctx.out(table.contextCap.reason);
    const deviceSafe = table.rows.filter((r) => r.device?.fit === 'fits' && (table.largestSafe === null || r.kvCacheMaxLen <= table.largestSafe)).map((r) => r.kvCacheMaxLen);
    if (table.rows.some((r) => r.device?.fit === 'blocked')) {
      ctx.out(deviceSafe.length > 0 ? `Largest context that also fits the ${formatBytes(table.device.ramBytes)} device: ${Math.max(...deviceSafe)}.` : `No context fits both this host and the ${formatBytes(table.device.ramBytes)} device.`);
    }
    return EXIT.ok;
  },
};

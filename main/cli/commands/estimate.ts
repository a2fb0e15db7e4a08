/**
 * `workbench estimate`: the predicted peak RAM and duration of a conversion
 * over context lengths 512 … 32768, judged against this host's RAM — the
 * same table the wizard's context picker shows.
 */
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import type { ContextRow, ContextTable } from '../../common/memoryEstimate.js';
import { ConvertRoute, DEFAULT_PREFILL_SEQ_LENS, Quantization } from '../../common/stages/convert.js';
import { readHfFolder } from '../../core/formats/hfFolder.js';
import { buildContextTable } from '../../core/memory/contextTable.js';
import { calibrationFor } from '../../core/memory/engineMemory.js';
import { formatBytes } from '../../core/memory/estimator.js';
import { readHostMemory } from '../../core/memory/sampler.js';
import { EXIT, type CliCommand } from '../context.js';
import { renderTable } from '../table.js';

function positiveInt(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new WorkbenchError('usage', `${flag} expects a whole number from ${min} to ${max}, got "${value}".`);
  return n;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const FIT_LABEL: Record<string, string> = { fits: 'fits', tight: 'TIGHT', blocked: 'BLOCKED', unknown: '?' };

function rowCells(row: ContextRow, chosen: number): string[] {
  const mark = row.kvCacheMaxLen === chosen ? '▶ ' : '  ';
  if (!row.estimate.ok) return [`${mark}${row.kvCacheMaxLen}`, '—', '—', '—', FIT_LABEL.unknown!, row.estimate.reason];
  const p = row.estimate.peakBytes;
  return [
    `${mark}${row.kvCacheMaxLen}`,
    formatBytes(p.expected),
    `${formatBytes(p.low)} – ${formatBytes(p.high)}`,
    duration(row.estimate.durationSec.expected),
    FIT_LABEL[row.verdict.fit] ?? row.verdict.fit,
    row.estimate.peakPhase,
  ];
}

export const estimateCommand: CliCommand = {
  name: 'estimate',
  summary: 'Predict the peak RAM and duration of a conversion for each context length on this host',
  usage: `workbench estimate --model DIR [--kv 4096] [--quant dynamic_int8] [--prefill 8,64,128,256,512,1024]
                   [--route example|export_hf] [--lightweight] [--mask-as-input] [--json]`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        kv: { type: 'string', default: '4096' },
        quant: { type: 'string', default: 'dynamic_int8' },
        prefill: { type: 'string' },
        route: { type: 'string', default: 'example' },
        lightweight: { type: 'boolean', default: false },
        'mask-as-input': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.model) throw new WorkbenchError('usage', 'Name the model folder with --model DIR (a Hugging Face folder with config.json).');
    const kv = positiveInt('--kv', values.kv, 16, 262_144);
    const quantize = Quantization.safeParse(values.quant);
    if (!quantize.success) throw new WorkbenchError('usage', `--quant must be one of ${Quantization.options.join(', ')}; got "${values.quant}".`);
    const route = ConvertRoute.safeParse(values.route);
    if (!route.success) throw new WorkbenchError('usage', `--route must be example or export_hf; got "${values.route}".`);
    const prefillSeqLens = values.prefill
      ? values.prefill.split(',').map((p) => positiveInt('--prefill', p.trim(), 1, 262_144))
      : [...DEFAULT_PREFILL_SEQ_LENS];

    const folder = await readHfFolder(values.model);
    const [host, calibration] = await Promise.all([readHostMemory(), calibrationFor(ctx.engine().history)]);
    const stopUsedFraction = ctx.engine().settings.get().memory.stopUsedFraction;
    const table: ContextTable = buildContextTable({
      config: folder.config,
      options: { prefillSeqLens, quantize: quantize.data, route: route.data, lightweightConversion: values.lightweight, maskAsInput: values['mask-as-input'] },
      hostTotalBytes: host.total,
      hostAvailableBytes: host.available,
      stopUsedFraction,
      extraContexts: [kv],
      calibration: calibration.applied(),
    });
    const chosen = table.rows.find((r) => r.kvCacheMaxLen === kv)!;

    if (values.json) {
      ctx.out(JSON.stringify({ ...table, chosen: { kvCacheMaxLen: kv, verdict: chosen.verdict } }, null, 2));
      return EXIT.ok;
    }

    if (table.noEstimate) {
      ctx.out(`No estimate: ${table.noEstimate.reason}`);
      return EXIT.ok;
    }
    const model = table.model!;
    const options = [route.data, quantize.data, `prefill ${prefillSeqLens.join(',')}`, values.lightweight ? 'lightweight' : '', values['mask-as-input'] ? 'mask_as_input' : ''].filter(Boolean).join(', ');
    ctx.out(`Model: ${values.model} (${model.family}, ${(model.params / 1e9).toFixed(2)}B parameters) — ${options}`);
    ctx.out(
      `Host: ${formatBytes(table.host.totalBytes)} RAM, ${formatBytes(table.host.availableBytes)} available; a stage may use ${formatBytes(table.host.budgetBytes)} before the guard stops it at ${Math.round(stopUsedFraction * 100)}% in use.`,
    );
    ctx.out(
      table.calibration.calibrated
        ? `Calibrated from ${table.calibration.runs} conversion(s) on this host.`
        : 'Prior coefficients (no conversion recorded on this host yet).',
    );
    ctx.out('');
    ctx.out(renderTable(['CONTEXT', 'PEAK RAM', 'RANGE', 'DURATION', 'FIT', 'PEAK PHASE'], table.rows.map((r) => rowCells(r, kv))));
    ctx.out('');
    ctx.out(`Context ${kv}: ${chosen.verdict.reason}`);
    const notes = chosen.estimate.ok ? chosen.estimate.notes : [];
    for (const note of notes) ctx.out(`Note: ${note}`);
    ctx.out(
      table.largestSafe !== null
        ? `Largest safe context: ${table.largestSafe}${table.largestTight !== null && table.largestTight > table.largestSafe ? ` (up to ${table.largestTight} if you accept a tight fit)` : ''}.`
        : table.largestTight !== null
          ? `No context fits with margin; ${table.largestTight} fits only tightly.`
          : 'No context length fits this host; try --mask-as-input, --route export_hf --lightweight, or a bigger host (serve mode).',
    );
    return EXIT.ok;
  },
};

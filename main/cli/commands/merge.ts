/**
 * `workbench merge --base DIR --adapter DIR --out DIR`: merges a PEFT LoRA
 * adapter into its base model with the native streaming merge, as a one-stage
 * run (same runner, memory guard and history as the app). Progress goes to
 * stderr; the summary (or, with --json, the run and the merge summary as JSON)
 * to stdout. Ctrl-C cancels and leaves no partial output.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes, formatDuration, STATUS_LABELS } from '../../common/format.js';
import { MergeParams, MergeSummary } from '../../common/stages/merge.js';
import { exitCodeForRun, runInTerminal } from '../runInTerminal.js';
import { EXIT, type CliCommand } from '../context.js';
import { clipRunName } from '../../common/stages/plan.js';

/** Error codes that mean "your inputs are wrong", not "the merge broke". */
const BAD_INPUT = /^(not_a_file|file_too_large|adapter_|safetensors_|merge_input|merge_output|merge_missing_tensor|merge_unsupported|disk_full|output_not_writable|bad_params)/;

/**
 * A whole-number option within the bounds MergeParams enforces, or a usage
 * error (exit 2) naming the option, as docs/cli.md promises; the bounds come
 * from the schema so the message and the check cannot drift apart.
 */
function intOption(name: string, field: 'shardSizeMiB' | 'threads', value: string | undefined): number {
  const schema = MergeParams.shape[field].unwrap();
  if (value === undefined) return MergeParams.shape[field].parse(undefined);
  const min = schema.minValue ?? 0;
  const max = schema.maxValue ?? Number.MAX_SAFE_INTEGER;
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new WorkbenchError('usage', `--${name} expects a whole number from ${min} to ${max}, got "${value}".`);
  return n;
}

export const mergeCommand: CliCommand = {
  name: 'merge',
  summary: 'Merge a LoRA adapter into its base model (streaming, bounded memory, verified)',
  usage: `workbench merge --base DIR --adapter DIR --out DIR [--shard-size-mib N] [--no-verify]
                [--threads N] [--json]
  --base DIR             Hugging Face model folder (safetensors, single file or sharded)
  --adapter DIR          PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors)
  --out DIR              new folder for the merged model (must not exist or be empty)
  --shard-size-mib N     output shard size (default 4096)
  --no-verify            skip the float64 verify pass
  --threads N            worker threads for the products (default: one per core)
  --json                 print the run and the merge summary as JSON`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        base: { type: 'string' },
        adapter: { type: 'string' },
        out: { type: 'string' },
        'shard-size-mib': { type: 'string' },
        'no-verify': { type: 'boolean', default: false },
        threads: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.base || !values.adapter || !values.out) {
      const missing = (['base', 'adapter', 'out'] as const).filter((name) => !values[name]);
      ctx.err(`error: missing ${missing.map((name) => `--${name}`).join(', ')} (the base model folder, the adapter folder and a new output folder).\n\nUsage: ${this.usage}`);
      return EXIT.usage;
    }
    const params = MergeParams.parse({
      // Relative to where the command is typed (the stage itself runs in the run's folder).
      baseDir: path.resolve(values.base),
      adapterDir: path.resolve(values.adapter),
      outDir: path.resolve(values.out),
      shardSizeMiB: intOption('shard-size-mib', 'shardSizeMiB', values['shard-size-mib']),
      verify: !values['no-verify'],
      threads: intOption('threads', 'threads', values.threads),
    });
    let run;
    try {
      run = await runInTerminal(
        ctx.engine(),
        ctx,
        { name: clipRunName(`merge → ${params.outDir}`), stages: [{ kind: 'merge', params }] },
        { quiet: values.json, cancelNote: 'Ctrl-C cancels it and removes the partial output.' },
      );
    } catch (error) {
      // Refused before the run started (preflight): inputs missing, output not empty, …
      if (!values.json || !(error instanceof WorkbenchError)) throw error;
      ctx.out(JSON.stringify({ runId: null, status: 'refused', error: error.toData(), peakRssBytes: null, summary: null }, null, 2));
      return EXIT.badInput;
    }
    const id = run.id;
    const stage = run.stages[0];
    const parsed = stage?.result ? MergeSummary.safeParse(stage.result) : undefined;
    const summary = parsed?.success ? parsed.data : null;
    if (values.json) {
      ctx.out(JSON.stringify({ runId: id, status: run.status, error: stage?.error ?? null, peakRssBytes: run.peakRssBytes, summary }, null, 2));
    } else if (summary) {
      ctx.out(`Merged model: ${summary.outDir}`);
      ctx.out(`  tensors: ${summary.tensorsTouched} of ${summary.tensorsTotal} changed (${plural(summary.modules, 'LoRA module')})`);
      for (const s of summary.scales) ctx.out(`  scale ${s.scale} (r=${s.r}, alpha=${s.alpha}${summary.adapter.useRslora ? ', rsLoRA' : ''}) on ${plural(s.modules, 'module')}`);
      ctx.out(`  output: ${formatBytes(summary.outputBytes)} in ${plural(summary.files.length, 'file')}; ${plural(summary.copiedFiles.length, 'other file')} copied`);
      for (const f of summary.files) ctx.out(`    ${f.fileName}  sha256 ${f.sha256}`);
      if (summary.verify) ctx.out(`  verify: ${summary.verify.checkedValues} values in ${summary.verify.checkedTensors} tensors match float64 (max ${summary.verify.maxUlpError.toFixed(2)} ulp)`);
      ctx.out(`  time: ${formatDuration(summary.durationMs)} (${formatBytes(summary.bytesPerSecond)}/s), peak RSS ${formatBytes(summary.peakRssBytes)}`);
      for (const w of summary.warnings) ctx.out(`  warning: ${w}`);
    } else {
      ctx.out(`Run ${id} ${STATUS_LABELS[run.status] ?? run.status}.`);
    }
    return run.status === 'failed' && stage?.error && BAD_INPUT.test(stage.error.code) ? EXIT.badInput : exitCodeForRun(run.status);
  },
};

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * `workbench check --model DIR --bundle FILE`: the fidelity checklist in the
 * terminal (docs/fidelity.md). Exit code: 0 nothing failed (warnings are
 * printed), 1 at least one failure, or a warning with --strict; 2 a usage
 * error and 3 unreadable input, as for every command. Also the `--fix-metadata` logic the package
 * command calls: `workbench package --fix-metadata BUNDLE --model DIR --out FILE`.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exitCodeFor } from '../../common/fidelity.js';
import type { CheckStatus, FidelityReport } from '../../common/fidelity.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import { checkFidelity } from '../../core/fidelity/analyze.js';
import { fixBundleMetadata } from '../../core/packager/fixMetadata.js';
import { reportToJson, reportToMarkdown } from '../../core/fidelity/report.js';
import type { CliCommand, CliContext } from '../context.js';

const SYMBOL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

function intendedContextArgument(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new WorkbenchError('usage', `--intended-context must be a positive whole number of tokens, not "${value}".`);
  return n;
}

/** The checklist as terminal text: one line per item, details for the ones that need attention. */
export function formatReportText(report: FidelityReport): string {
  const lines: string[] = [];
  for (const item of report.items) {
    lines.push(`${SYMBOL[item.status]}  ${item.title}`);
    if (item.status === 'pass') continue;
    lines.push(`      ${item.explanation}`);
    for (const e of item.evidence.slice(0, 4)) lines.push(`      · ${e.label}: ${e.value}`);
    if (item.fix) lines.push(`      fix: ${item.fix}`);
  }
  const s = report.summary;
  lines.push('', `${s.pass} pass, ${s.warn} warn, ${s.fail} fail.`);
  if (s.fixAvailable) lines.push(`Fix the metadata in seconds: workbench package --fix-metadata ${report.bundlePath} --model ${report.modelDir} --out FIXED.litertlm`);
  return lines.join('\n');
}

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'Check a packaged model against its Hugging Face folder (stop tokens, prompt format, sampling, context, tokenizer)',
  usage: `workbench check --model DIR --bundle FILE.litertlm [--intended-context N] [--strict] [--json] [--markdown OUT.md]
workbench check --model DIR --bundle FILE.tflite --metadata FILE.json|FILE.pb [...]
exit code: 0 nothing failed, 1 a failure (or, with --strict, a warning), 2 usage error, 3 unreadable input`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        bundle: { type: 'string' },
        metadata: { type: 'string' },
        'intended-context': { type: 'string' },
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        markdown: { type: 'string' },
      },
    });
    if (!values.model) throw new WorkbenchError('usage', 'Name the Hugging Face model folder with --model DIR.');
    if (!values.bundle) throw new WorkbenchError('usage', 'Name the packaged model with --bundle FILE (.litertlm, or .tflite with --metadata).');
    const report = await checkFidelity({
      modelDir: path.resolve(values.model),
      bundlePath: path.resolve(values.bundle),
      ...(values.metadata ? { metadataPath: path.resolve(values.metadata) } : {}),
      intendedContext: intendedContextArgument(values['intended-context']),
    });
    if (values.markdown) await writeFile(path.resolve(values.markdown), reportToMarkdown(report));
    ctx.out(values.json ? reportToJson(report) : formatReportText(report));
    return exitCodeFor(report.summary, { strict: values.strict });
  },
};

export interface FixMetadataOptions {
  bundle: string;
  model: string;
  out: string;
  intendedContext?: string;
  json?: boolean;
}

/**
 * `workbench package --fix-metadata BUNDLE --model DIR --out FILE`: writes
 * the bundle again with the LlmMetadata its model folder calls for, then
 * prints the re-check. Exit code as for `check`, on the fixed bundle.
 */
export async function runFixMetadata(options: FixMetadataOptions, ctx: CliContext): Promise<number> {
  const result = await fixBundleMetadata({
    modelDir: path.resolve(options.model),
    bundlePath: path.resolve(options.bundle),
    outPath: path.resolve(options.out),
    intendedContext: intendedContextArgument(options.intendedContext),
  });
  if (options.json) {
    ctx.out(JSON.stringify({ outPath: result.outPath, sizeBytes: result.sizeBytes, elapsedMs: result.elapsedMs, metadata: result.metadata, remaining: result.remaining, notes: result.notes, before: result.before.summary, after: result.after }, null, 2));
    return exitCodeFor(result.after.summary);
  }
  const fixed = result.before.items.filter((b) => b.status !== 'pass' && result.after.items.find((a) => a.id === b.id)?.status === 'pass');
  ctx.out(`Wrote ${result.outPath} (${formatBytes(result.sizeBytes)}) in ${(result.elapsedMs / 1000).toFixed(1)} s, no re-conversion.`);
  for (const note of result.notes) ctx.out(`  ${note}`);
  if (fixed.length > 0) ctx.out(`Fixed: ${fixed.map((i) => i.id).join(', ')}.`);
  ctx.out(`\n${formatReportText(result.after)}`);
  return exitCodeFor(result.after.summary);
}

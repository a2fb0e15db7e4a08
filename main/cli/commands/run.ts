/**
 * `workbench run --plan plan.json`: runs a plan in this terminal with the same
 * engine and history as the app, printing progress; Ctrl-C cancels the run
 * (the whole stage process tree is stopped) before exiting.
 */
import { readRegularFileSync } from '../../core/files/regularFile.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeSystemError, WorkbenchError } from '../../common/errors.js';
import { formatBytes, formatDuration, STATUS_LABELS } from '../../common/format.js';
import { EXIT, type CliCommand } from '../context.js';
import type { RunPlanInput } from '../../common/stages/plan.js';
import { resolvePlanPaths } from '../../core/stages/planPaths.js';
import { exitCodeForRun, runInTerminal } from '../runInTerminal.js';

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'Run a plan (stages with parameters) and wait for it',
  usage: 'workbench run --plan plan.json [--allow-predicted-oom] [--json]',
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: { plan: { type: 'string' }, json: { type: 'boolean', default: false }, 'allow-predicted-oom': { type: 'boolean', default: false } },
    });
    if (!values.plan) {
      ctx.err(`Usage: ${this.usage}`);
      return EXIT.usage;
    }
    const plan = readPlanFile(values.plan);
    // Paths in a plan file are relative to the file, as in most tools that read a config file.
    const resolved = resolvePlanPaths(plan as RunPlanInput, path.dirname(path.resolve(values.plan))) as Record<string, unknown>;
    if (values['allow-predicted-oom']) resolved.allowPredictedOom = true;
    const engine = ctx.engine();
    const run = await runInTerminal(engine, ctx, resolved as RunPlanInput, { quiet: values.json });
    if (values.json) ctx.out(JSON.stringify(run, null, 2));
    else {
      const duration = run.startedAt && run.finishedAt ? run.finishedAt - run.startedAt : null;
      ctx.out(`Run ${run.id} ${STATUS_LABELS[run.status] ?? run.status} in ${formatDuration(duration)}, peak RAM ${formatBytes(run.peakRssBytes)}.`);
      for (const artifact of run.artifacts) ctx.out(`  ${artifact.kind}: ${artifact.path}`);
    }
    return exitCodeForRun(run.status);
  },
};

/** The plan file as a JSON object, or one sentence saying why it cannot be used (never Node's errno text). */
function readPlanFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readRegularFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new WorkbenchError('bad_plan_file', `The plan file ${file} does not exist.`, { path: file });
    if (code === 'EACCES') throw new WorkbenchError('bad_plan_file', `Cannot read the plan file ${file}: permission denied.`, { path: file });
    throw describeSystemError(error) ?? new WorkbenchError('bad_plan_file', `Cannot read the plan file ${file}.`, { path: file });
  }
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (error) {
    throw new WorkbenchError('bad_plan_file', `The plan file ${file} is not valid JSON (${(error as Error).message}).`, { path: file });
  }
  if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) {
    throw new WorkbenchError('bad_plan_file', `The plan file ${file} must hold a JSON object with "stages", as \`workbench run --help\` describes.`, { path: file });
  }
  return plan as Record<string, unknown>;
}

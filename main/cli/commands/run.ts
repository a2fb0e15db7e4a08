/**
 * `workbench run --plan plan.json`: runs a plan in this terminal with the same
 * engine and history as the app, printing progress; Ctrl-C cancels the run
 * (the whole stage process tree is stopped) before exiting.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
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
    let plan: Record<string, unknown>;
    try {
      plan = JSON.parse(readFileSync(values.plan, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new WorkbenchError('bad_plan_file', `Cannot read the plan ${values.plan}: ${(error as Error).message}`);
    }
    // Paths in a plan file are relative to the file, as in most tools that read a config file.
    plan = resolvePlanPaths(plan as RunPlanInput, path.dirname(path.resolve(values.plan))) as Record<string, unknown>;
    if (values['allow-predicted-oom']) plan.allowPredictedOom = true;
    const engine = ctx.engine();
    const run = await runInTerminal(engine, ctx, plan as RunPlanInput, { quiet: values.json });
    if (values.json) ctx.out(JSON.stringify(run, null, 2));
    else {
      const duration = run.startedAt && run.finishedAt ? run.finishedAt - run.startedAt : null;
      ctx.out(`Run ${run.id} ${STATUS_LABELS[run.status] ?? run.status} in ${formatDuration(duration)}, peak RAM ${formatBytes(run.peakRssBytes)}.`);
      for (const artifact of run.artifacts) ctx.out(`  ${artifact.kind}: ${artifact.path}`);
    }
    return exitCodeForRun(run.status);
  },
};

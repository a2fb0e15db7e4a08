/**
 * `workbench run --plan plan.json`: runs a plan in this terminal with the same
 * engine and history as the app, printing progress; Ctrl-C cancels the run
 * (the whole stage process tree is stopped) before exiting.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes, formatDuration, STATUS_LABELS } from '../../common/format.js';
import { EXIT, type CliCommand } from '../context.js';
import { memoryMonitors } from '../../core/memory/monitors.js';

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
    if (values['allow-predicted-oom']) plan.allowPredictedOom = true;
    const engine = ctx.engine({ monitors: memoryMonitors() });
    let lastLine = '';
    const unsubscribe = engine.events.subscribe((event) => {
      if (values.json) return;
      if (event.type === 'stage') {
        const { stage } = event;
        const pct = stage.progress === null ? '' : ` ${Math.round(stage.progress * 100)} %`;
        const line = `[${stage.idx + 1}] ${stage.kind}: ${STATUS_LABELS[stage.status] ?? stage.status}${stage.status === 'running' ? pct : ''}${stage.phase && stage.status === 'running' ? ` — ${stage.phase}` : ''}`;
        if (line !== lastLine) ctx.err(line);
        lastLine = line;
        if (stage.error) ctx.err(`    ${stage.error.message}${stage.error.hint ? `\n    hint: ${stage.error.hint}` : ''}`);
      } else if (event.type === 'logs') {
        for (const line of event.lines) if (line.level === 'warn' || line.level === 'error') ctx.err(`    ${line.level}: ${line.text}`);
      }
    });
    const id = await engine.runner.start(plan as never);
    ctx.err(`Run ${id} started. Ctrl-C cancels it.`);
    const onSignal = () => {
      ctx.err('Cancelling…');
      void engine.runner.cancel(id).catch(() => undefined);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await engine.runner.whenIdle();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    unsubscribe();
    const run = engine.history.getRun(id);
    if (values.json) ctx.out(JSON.stringify(run, null, 2));
    else {
      const duration = run.startedAt && run.finishedAt ? run.finishedAt - run.startedAt : null;
      ctx.out(`Run ${id} ${STATUS_LABELS[run.status] ?? run.status} in ${formatDuration(duration)}, peak RAM ${formatBytes(run.peakRssBytes)}.`);
      for (const artifact of run.artifacts) ctx.out(`  ${artifact.kind}: ${artifact.path}`);
    }
    switch (run.status) {
      case 'succeeded':
        return EXIT.ok;
      case 'cancelled':
        return EXIT.cancelled;
      case 'stopped_by_guard':
        return EXIT.stoppedByGuard;
      default:
        return EXIT.failed;
    }
  },
};

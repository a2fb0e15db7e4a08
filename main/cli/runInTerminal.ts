/**
 * Runs a plan from a terminal command: starts it with the engine's runner,
 * prints stage progress (at most once a second per stage) and warnings to
 * stderr, cancels the whole run on Ctrl-C or SIGTERM, and returns the
 * finished run. Shared by `workbench run` and `workbench merge`.
 */
import { STATUS_LABELS } from '../common/format.js';
import type { RunDetail, RunStatus, StageRecord } from '../common/runs.js';
import type { RunPlanInput } from '../common/stages/plan.js';
import type { Engine } from '../core/engine.js';
import { EXIT, type CliContext } from './context.js';

export interface TerminalRunOptions {
  /** Print nothing but the final JSON (progress would corrupt it for a reader of stderr+stdout). */
  quiet: boolean;
  /** What Ctrl-C does, said when the run starts. */
  cancelNote?: string;
}

function progressLine(stage: StageRecord): string {
  const title = `[${stage.idx + 1}] ${stage.kind}`;
  if (stage.status !== 'running') return `${title}: ${STATUS_LABELS[stage.status] ?? stage.status}`;
  const pct = stage.progress === null ? '' : ` ${Math.round(stage.progress * 100)} %`;
  return `${title}:${pct}${stage.phase ? ` ${stage.phase}` : ''}${stage.message ? ` — ${stage.message}` : ''}`;
}

export async function runInTerminal(engine: Engine, ctx: CliContext, plan: RunPlanInput, options: TerminalRunOptions): Promise<RunDetail> {
  const lastPrinted = new Map<number, { line: string; at: number; status: string }>();
  // Warning and error lines already printed, per stage: a stage's error (a refusal, the guard's stop, a
  // cancel) is also its last log line, and is printed once.
  const printedLines = new Map<number | null, string[]>();
  const alreadyPrinted = (stageId: number, text: string) => (printedLines.get(stageId) ?? []).some((line) => line.includes(text));
  const unsubscribe = engine.events.subscribe((event) => {
    if (options.quiet) return;
    if (event.type === 'stage') {
      const { stage } = event;
      const line = progressLine(stage);
      const previous = lastPrinted.get(stage.id);
      const now = Date.now();
      const statusChanged = previous?.status !== stage.status;
      if (line !== previous?.line && (statusChanged || now - previous.at >= 1000)) {
        ctx.err(line);
        lastPrinted.set(stage.id, { line, at: now, status: stage.status });
      }
      if (stage.error && statusChanged) {
        const lines = [alreadyPrinted(stage.id, stage.error.message) ? null : `    ${stage.error.message}`, stage.error.hint && !alreadyPrinted(stage.id, stage.error.hint) ? `    hint: ${stage.error.hint}` : null];
        for (const line of lines) if (line) ctx.err(line);
      }
    } else if (event.type === 'logs') {
      for (const entry of event.lines) {
        if ((entry.level === 'warn' || entry.level === 'error') && entry.source !== 'stdout') {
          ctx.err(`    ${entry.level}: ${entry.text}`);
          printedLines.set(entry.stageId, [...(printedLines.get(entry.stageId) ?? []), entry.text]);
        }
      }
    }
  });
  let id: number;
  try {
    id = await engine.runner.start(plan);
  } catch (error) {
    unsubscribe();
    throw error;
  }
  if (!options.quiet) ctx.err(`Run ${id} started. ${options.cancelNote ?? 'Ctrl-C cancels it.'}`);
  const onSignal = () => {
    if (!options.quiet) ctx.err('Cancelling…');
    void engine.runner.cancel(id).catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await engine.runner.whenIdle();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    unsubscribe();
  }
  return engine.history.getRun(id);
}

/** The exit code for how a run ended (docs/cli.md). */
export function exitCodeForRun(status: RunStatus): number {
  switch (status) {
    case 'succeeded':
      return EXIT.ok;
    case 'cancelled':
      return EXIT.cancelled;
    case 'stopped_by_guard':
      return EXIT.stoppedByGuard;
    default:
      return EXIT.failed;
  }
}

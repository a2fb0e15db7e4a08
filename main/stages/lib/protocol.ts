/**
 * The writing side of the stage protocol for Node stage scripts: one JSON
 * object per line on stdout (docs/stage-protocol.md). Parameters arrive as a
 * JSON file named by `--params <file>`.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { LogLevel, StageEvent } from '../../common/stageProtocol.js';
import { WorkbenchError } from '../../common/errors.js';

function emit(event: StageEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export const stageOut = {
  progress(fraction: number | null, phase?: string, message?: string): void {
    const clamped = fraction === null ? null : Math.min(1, Math.max(0, fraction));
    emit({ type: 'progress', fraction: clamped, ...(phase ? { phase } : {}), ...(message ? { message } : {}) });
  },
  log(level: LogLevel, text: string): void {
    emit({ type: 'log', level, text });
  },
  metric(name: string, value: number, unit?: string): void {
    emit({ type: 'metric', name, value, ...(unit ? { unit } : {}) });
  },
  artifact(kind: string, path: string): void {
    emit({ type: 'artifact', kind, path });
  },
  result(data: Record<string, unknown>): void {
    emit({ type: 'result', data });
  },
  error(code: string, message: string, hint?: string): void {
    emit({ type: 'error', code, message, ...(hint ? { hint } : {}) });
  },
};

/** Reads and validates `--params <file>`; exits with an error event when invalid. */
export function readStageParams<S extends z.ZodType>(schema: S, argv = process.argv.slice(2)): z.infer<S> {
  const at = argv.indexOf('--params');
  const file = at >= 0 ? argv[at + 1] : undefined;
  if (!file) {
    stageOut.error('bad_params', 'The stage was started without --params <file>.');
    process.exit(2);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    stageOut.error('bad_params', `Cannot read the parameter file ${file}: ${(error as Error).message}`);
    process.exit(2);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    stageOut.error('bad_params', `Invalid stage parameters: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    process.exit(2);
  }
  return parsed.data;
}

/**
 * Runs a stage body: a WorkbenchError becomes an `error` event with its code
 * and hint, anything else an `internal` error; the exit code tells the runner.
 */
export async function runStage(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof WorkbenchError) {
      const hint = (error.details as { hint?: string } | undefined)?.hint;
      stageOut.error(error.code, error.message, hint);
    } else {
      stageOut.error('internal', error instanceof Error ? error.message : String(error));
      if (error instanceof Error && error.stack) stageOut.log('debug', error.stack);
    }
    process.exitCode = 1;
  }
}

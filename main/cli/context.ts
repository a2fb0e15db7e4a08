/**
 * What every CLI command gets: the global options and a lazily opened engine
 * (commands that only read a file never touch the database).
 */
import { createEngine, type Engine, type EngineOptions } from '../core/engine.js';

export interface CliContext {
  dataDir: string | undefined;
  /** Opens the engine for this data directory once; closed by the CLI on exit. */
  engine(options?: Partial<EngineOptions>): Engine;
  out(text: string): void;
  err(text: string): void;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], ctx: CliContext): Promise<number>;
}

/** Exit codes shared by all commands (documented in docs/cli.md). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  badInput: 3,
  stoppedByGuard: 4,
  refused: 5,
  cancelled: 130,
} as const;

export function createCliContext(dataDir: string | undefined): CliContext & { close(): Promise<void> } {
  let engine: Engine | null = null;
  return {
    dataDir,
    engine(options = {}) {
      engine ??= createEngine({ mode: 'cli', ...options, ...(dataDir ? { dataDir } : {}) });
      return engine;
    },
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    async close() {
      if (engine) await engine.close();
    },
  };
}

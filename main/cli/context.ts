/**
 * What every CLI command gets: the global options and a lazily opened engine
 * (commands that only read a file never touch the database).
 */
import { existsSync, statSync } from 'node:fs';
import { WorkbenchError } from '../common/errors.js';
import path from 'node:path';
import { createEngine, type Engine, type EngineOptions } from '../core/engine.js';
import { resolveDataDir } from '../core/paths.js';

export interface CliContext {
  dataDir: string | undefined;
  /**
   * The data directory in use, and whether it already holds a history: a
   * read-only command asks first, so a mistyped --data-dir is reported as
   * having no history instead of silently getting a new one.
   */
  existingHistory(): { dataDir: string } | { missing: string };
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
    existingHistory() {
      const dir = resolveDataDir(dataDir);
      // A file where the data directory should be is a mistake to name, not an empty history.
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new WorkbenchError('not_a_folder', `The data directory ${dir} is a file, not a folder.`, { path: dir });
      return existsSync(path.join(dir, 'history.sqlite')) ? { dataDir: dir } : { missing: dir };
    },
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

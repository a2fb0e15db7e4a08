/**
 * Opens the history database the one way the app does: WAL, foreign keys,
 * a busy timeout for the CLI reading while the app writes, and migrations
 * applied one transaction each. A database written by a newer app is refused.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { makeDirectories } from '../files/folders.js';
import { migrations as defaultMigrations } from './migrations/index.js';

export type Db = Database.Database;

export interface OpenOptions {
  /**
   * better-sqlite3's compiled addon to load instead of node_modules' build: the
   * Electron app passes its Electron-ABI copy (native/electron/, built by
   * `npm run rebuild:electron`), so node_modules stays built for plain Node.
   */
  nativeBinding?: string;
}

/** The one command that rebuilds the addon for the runtime that failed to load it. */
export function nativeRebuildCommand(runtime: { electron?: string | undefined }): string {
  return runtime.electron ? 'npm run rebuild:electron' : 'npm rebuild better-sqlite3';
}

const ABI_MISMATCH = /NODE_MODULE_VERSION|compiled against a different Node\.js version|invalid ELF header|not a valid Win32 application|wrong ELF class|mach-o, but wrong architecture|incompatible architecture|did not self-register/i;

/**
 * A raw addon load failure becomes one sentence naming the fix; anything else
 * (a locked or corrupt database file) keeps its own message.
 */
export function describeOpenError(error: unknown, file: string, runtime: { electron?: string | undefined } = process.versions): WorkbenchError {
  const message = (error as Error).message ?? String(error);
  const where = runtime.electron ? `Electron ${runtime.electron}` : `Node.js ${process.version}`;
  if (ABI_MISMATCH.test(message)) {
    return new WorkbenchError(
      'native_module_mismatch',
      `The SQLite module (better-sqlite3) was built for another runtime than ${where}; run \`${nativeRebuildCommand(runtime)}\` and start again.`,
      { cause: message },
    );
  }
  if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' || /Cannot find module|Could not locate the bindings file/i.test(message)) {
    return new WorkbenchError(
      'native_module_missing',
      `The SQLite module (better-sqlite3) for ${where} is not built; run \`${nativeRebuildCommand(runtime)}\` and start again.`,
      { cause: message },
    );
  }
  return new WorkbenchError('db_open_failed', `Cannot open the history database ${file}: ${message}`);
}

export function openDatabase(file: string, migrations: readonly string[] = defaultMigrations, options: OpenOptions = {}): Db {
  if (file !== ':memory:') makeDirectories(path.dirname(file));
  let db: Db;
  try {
    db = new Database(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  } catch (error) {
    throw describeOpenError(error, file);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db, migrations);
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new WorkbenchError('db_not_history', `${file} is not a SQLite database; the history cannot be opened.`, {
        hint: MOVE_ASIDE,
      });
    }
    if (isDamagedDatabaseError(error)) throw damagedDatabase(file, error);
    throw error;
  }
}

const MOVE_ASIDE = 'Move the file aside to start a new history (past runs in it are lost), or choose another folder with --data-dir.';

/** SQLite's "the file is damaged" errors (a truncated or overwritten history.sqlite), at open or on a later read. */
export function isDamagedDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CORRUPT');
}

/**
 * A damaged history as one sentence naming the file and what to do, for the
 * CLI, serve mode and the app's start-up dialog alike (the dialog shows only
 * the message, so the remedy is in it rather than in a hint).
 */
export function damagedDatabase(file: string, cause: unknown): WorkbenchError {
  return new WorkbenchError(
    'db_damaged',
    `The history database ${file} is damaged (${(cause as Error).message ?? String(cause)}); move it aside (for example rename it to history.sqlite.damaged) to start a new, empty history, or start with another --data-dir.`,
    { path: file },
  );
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations: readonly string[]): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new WorkbenchError(
      'db_too_new',
      `The history database is from a newer Convert Workbench (schema ${current}; this version knows up to ${migrations.length}). Update the app, or start with another --data-dir.`,
      { found: current, supported: migrations.length },
    );
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    const sql = migrations[version - 1]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
}

/**
 * Opens the history database the one way the app does: WAL, foreign keys,
 * a busy timeout for the CLI reading while the app writes, and migrations
 * applied one transaction each. A database written by a newer app is refused.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { migrations as defaultMigrations } from './migrations/index.js';

export type Db = Database.Database;

export function openDatabase(file: string, migrations: readonly string[] = defaultMigrations): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
  } catch (error) {
    throw new WorkbenchError('db_open_failed', `Cannot open the history database ${file}: ${(error as Error).message}`);
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
    throw error;
  }
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

import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { describeOpenError, migrate, nativeRebuildCommand, openDatabase, schemaVersion } from './database.js';
import { migrations, SCHEMA_VERSION } from './migrations/index.js';

const require = createRequire(import.meta.url);
const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-db-')), 'history.sqlite');

describe('database', () => {
  it('creates a new database at the current schema version with WAL and foreign keys', () => {
    const db = openDatabase(tempFile());
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('migration 1 creates every table and the FTS index; deleting unindexed lines leaves the index intact', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.slice(0, 1));
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    for (const table of ['runs', 'stages', 'log_lines', 'log_fts', 'fts_state', 'memory_samples', 'artifacts', 'metrics', 'settings']) expect(tables).toContain(table);
    db.prepare("INSERT INTO runs (id, status, plan_json, host_json, created_at) VALUES (1, 'running', '{}', '{}', 0)").run();
    db.prepare("INSERT INTO log_lines (id, run_id, ts, level, source, text) VALUES (1, 1, 0, 'info', 'stdout', 'lowering attention to MLIR')").run();
    db.prepare("INSERT INTO log_lines (id, run_id, ts, level, source, text) VALUES (2, 1, 0, 'info', 'stdout', 'attention not indexed yet')").run();
    db.exec("INSERT INTO log_fts (rowid, text) SELECT id, text FROM log_lines WHERE id = 1; UPDATE fts_state SET indexed_upto = 1;");
    expect(db.prepare("SELECT rowid FROM log_fts WHERE log_fts MATCH 'attention'").all()).toEqual([{ rowid: 1 }]);
    db.prepare('DELETE FROM runs WHERE id = 1').run();
    expect(db.prepare("SELECT rowid FROM log_fts WHERE log_fts MATCH 'attention'").all()).toHaveLength(0);
    db.exec("INSERT INTO log_fts(log_fts) VALUES ('integrity-check')");
    db.close();
  });

  it('applies pending migrations one transaction each and is idempotent', () => {
    const file = tempFile();
    const extra = [...migrations, 'CREATE TABLE extra_test (x INTEGER);'];
    openDatabase(file).close();
    const db = openDatabase(file, extra);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION + 1);
    db.close();
    const again = openDatabase(file, extra);
    expect(schemaVersion(again)).toBe(SCHEMA_VERSION + 1);
    again.close();
  });

  it('rolls back a failing migration and leaves the version unchanged', () => {
    const file = tempFile();
    openDatabase(file).close();
    expect(() => openDatabase(file, [...migrations, 'CREATE TABLE ok_part (x INTEGER); THIS IS NOT SQL;'])).toThrow();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ok_part'").get()).toBeUndefined();
    db.close();
  });

  it('refuses a database written by a newer version, with a clear message, and does not touch it', () => {
    const file = tempFile();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.exec('CREATE TABLE future (x)');
    raw.close();
    let error: unknown;
    try {
      openDatabase(file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WorkbenchError);
    expect((error as WorkbenchError).code).toBe('db_too_new');
    expect((error as WorkbenchError).message).toMatch(/newer Convert Workbench/);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'future'").get()).toBeDefined();
    check.close();
  });
});

describe('native module load failures', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-native-'));

  it('an addon built for another runtime fails with the command that fixes it, not a raw loader error', () => {
    // Not a loadable shared object for this process: the loader fails the way an ABI/architecture mismatch does.
    const wrong = path.join(dir, 'better_sqlite3.node');
    writeFileSync(wrong, Buffer.alloc(4096, 7));
    let caught: unknown;
    try {
      openDatabase(path.join(dir, 'h.sqlite'), undefined, { nativeBinding: wrong });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WorkbenchError);
    expect((caught as WorkbenchError).code).toBe('native_module_mismatch');
    expect((caught as WorkbenchError).message).toContain('`npm rebuild better-sqlite3`');
  });

  it('a missing Electron build names npm run rebuild:electron', () => {
    const error = describeOpenError(Object.assign(new Error(`Cannot find module '${dir}/native/electron/linux-x64/better_sqlite3.node'`), { code: 'MODULE_NOT_FOUND' }), 'h.sqlite', { electron: '40.10.2' });
    expect(error.code).toBe('native_module_missing');
    expect(error.message).toBe('The SQLite module (better-sqlite3) for Electron 40.10.2 is not built; run `npm run rebuild:electron` and start again.');
  });

  it('the real NODE_MODULE_VERSION message under Electron names npm run rebuild:electron', () => {
    const raw =
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 143. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).";
    const error = describeOpenError(new Error(raw), 'h.sqlite', { electron: '40.10.2' });
    expect(error.code).toBe('native_module_mismatch');
    expect(error.message).toMatch(/built for another runtime than Electron 40\.10\.2; run `npm run rebuild:electron`/);
    expect(nativeRebuildCommand({})).toBe('npm rebuild better-sqlite3');
  });

  it('other open failures keep their own message', () => {
    expect(describeOpenError(new Error('SQLITE_CANTOPEN: unable to open database file'), '/x/h.sqlite', {}).code).toBe('db_open_failed');
  });

  it('the Node build still opens through an explicit nativeBinding', () => {
    const nodeBuild = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    const db = openDatabase(path.join(dir, 'ok.sqlite'), undefined, { nativeBinding: nodeBuild });
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    db.close();
  });
});

/**
 * The run history: the single owner of the SQLite connection in a process.
 * Every read returns the typed shapes of main/common/runs.ts; every write is
 * a short transaction, and log lines are batched (they can arrive by the
 * thousand per second from a chatty converter).
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import type { MemorySample } from '../../common/memory.js';
import {
  HIGHLIGHT_END,
  HIGHLIGHT_START,
  type ArtifactRecord,
  type ErrorData,
  type HostSnapshot,
  type LogLine,
  type LogSearchHit,
  type MetricRecord,
  type RunDetail,
  type RunStatus,
  type RunSummary,
  type StageRecord,
  type StageStatus,
} from '../../common/runs.js';
import type { LogLevel } from '../../common/stageProtocol.js';
import { RunPlan, type StageKind } from '../../common/stages/plan.js';
import { openDatabase, type Db, type OpenOptions } from './database.js';

export interface NewLogLine {
  runId: number;
  stageId: number | null;
  ts: number;
  level: LogLevel;
  source: 'stdout' | 'stderr' | 'event' | 'system';
  text: string;
}

export interface CreateRunInput {
  plan: RunPlan;
  host: HostSnapshot;
  overrides?: Record<string, unknown> | null;
  parentRunId?: number | null;
  owner?: { pid: number; token: string };
}

export interface RunListQuery {
  status?: RunStatus[];
  /** Full-text query over the run's logs; only runs with a hit are listed. */
  logQuery?: string;
  limit?: number;
  offset?: number;
}

interface RunRow {
  id: number;
  name: string | null;
  status: RunStatus;
  plan_json: string;
  host_json: string;
  model: string | null;
  is_selftest: number;
  overrides_json: string | null;
  parent_run_id: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  peak_rss_bytes: number | null;
  peak_sys_used_bytes: number | null;
  error_json: string | null;
  owner_pid: number | null;
  owner_token: string | null;
}

interface StageRow {
  id: number;
  run_id: number;
  idx: number;
  kind: StageKind;
  params_json: string;
  status: StageStatus;
  started_at: number | null;
  finished_at: number | null;
  progress: number | null;
  phase: string | null;
  message: string | null;
  exit_code: number | null;
  error_json: string | null;
  result_json: string | null;
  peak_rss_bytes: number | null;
  reused_from_stage_id: number | null;
  pid: number | null;
}

export interface StagePatch {
  status?: StageStatus;
  startedAt?: number | null;
  finishedAt?: number | null;
  progress?: number | null;
  phase?: string | null;
  message?: string | null;
  exitCode?: number | null;
  error?: (ErrorData & { hint?: string }) | null;
  result?: Record<string, unknown> | null;
  peakRssBytes?: number | null;
  reusedFromStageId?: number | null;
  pid?: number | null;
}

const LOG_FLUSH_LINES = 5000;
const LOG_FLUSH_MS = 100;
/** Lines tokenized per indexing step (~40 ms of work on a slow core). */
const INDEX_CHUNK_LINES = 1000;
const INDEX_DELAY_MS = 250;

/** A readable label for the model a plan works on (folder name, or "self-test"). */
export function describePlan(plan: RunPlan): { model: string | null; isSelftest: boolean; keyParams: RunSummary['keyParams'] } {
  const keyParams: RunSummary['keyParams'] = {};
  let model: string | null = null;
  const isSelftest = plan.stages.every((stage) => stage.kind === 'selftest');
  for (const stage of plan.stages) {
    switch (stage.kind) {
      case 'merge':
        model ??= path.basename(stage.params.baseDir);
        keyParams.adapter = path.basename(stage.params.adapterDir);
        break;
      case 'convert':
        model ??= path.basename(stage.params.modelDir);
        keyParams.kv = stage.params.kvCacheMaxLen;
        keyParams.quant = stage.params.quantize;
        keyParams.route = stage.params.route;
        break;
      case 'package':
        model ??= path.basename(stage.params.modelDir);
        break;
      case 'verify':
        model ??= path.basename(stage.params.modelDir);
        break;
      case 'selftest':
        keyParams.selftestSeconds = stage.params.durationSeconds;
        break;
      default:
        break;
    }
  }
  if (isSelftest) model = 'self-test';
  return { model, isSelftest, keyParams };
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/**
 * Turns what a person types into a safe FTS5 query: every term is quoted (so
 * punctuation such as "-" or ":" is literal), terms are ANDed, and the last
 * term matches as a prefix so results appear while typing.
 */
export function toFtsQuery(input: string): string | null {
  const terms = searchTerms(input).map((term) => term.replace(/"/g, '""'));
  if (terms.length === 0) return null;
  return terms.map((term, i) => (i === terms.length - 1 ? `"${term}"*` : `"${term}"`)).join(' ');
}

export function searchTerms(input: string): string[] {
  return input.split(/\s+/).filter((term) => term.length > 0);
}

/**
 * The same query for lines not yet in the full-text index: every term as a
 * case-insensitive substring (LIKE), so a search right after a burst of output
 * still finds the newest lines.
 */
function tailClause(terms: string[], column: string): { sql: string; params: string[] } {
  return {
    sql: terms.map(() => `${column} LIKE ? ESCAPE '\\'`).join(' AND '),
    params: terms.map((term) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`),
  };
}

/** SQL function lower-casing every letter (SQLite's own lower() and LIKE fold ASCII only). */
const UNICODE_LOWER = 'wb_unicode_lower';
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A case-insensitive substring match, as grep -i: every character of the
 * needle is literal (LIKE's % and _ are escaped). LIKE ignores the case of
 * ASCII letters and runs in SQLite; when the needle has non-ASCII characters,
 * LIKE (with each of them as _, "any one character") only narrows the lines
 * down and both sides are then compared lower-cased by JavaScript, so "É"
 * finds "é" while "e" still never finds "é". Only such needles pay for the
 * call into JavaScript, and only on the lines LIKE lets through.
 */
function containsClause(needle: string, column: string): { sql: string; params: string[] } {
  let pattern = '';
  for (const char of needle) pattern += NON_ASCII.test(char) ? '_' : char.replace(/[\\%_]/g, (c) => `\\${c}`);
  const like = `${column} LIKE ? ESCAPE '\\'`;
  if (!NON_ASCII.test(needle)) return { sql: like, params: [`%${pattern}%`] };
  return { sql: `(${like} AND instr(${UNICODE_LOWER}(${column}), ?) > 0)`, params: [`%${pattern}%`, needle.toLowerCase()] };
}

/** Marks the terms in a line the way SQLite's highlight() does, for tail hits. */
function markTerms(text: string, terms: string[]): string {
  const pattern = new RegExp(terms.map((term) => term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gi');
  return text.replace(pattern, (match) => `${HIGHLIGHT_START}${match}${HIGHLIGHT_END}`);
}

export class History {
  readonly db: Db;
  private pendingLogs: NewLogLine[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private indexTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly insertLog;
  private readonly insertLogsTx;

  constructor(
    readonly file: string,
    options: OpenOptions = {},
  ) {
    this.db = openDatabase(file, undefined, options);
    this.db.function(UNICODE_LOWER, { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
    this.insertLog = this.db.prepare(
      'INSERT INTO log_lines (run_id, stage_id, ts, level, source, text) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // Positional binding: measurably faster than named parameters on this hot path.
    this.insertLogsTx = this.db.transaction((lines: NewLogLine[]) => {
      for (const line of lines) this.insertLog.run(line.runId, line.stageId, line.ts, line.level, line.source, line.text);
    });
  }

  close(): void {
    this.flushLogs();
    this.closed = true;
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.db.close();
  }

  // ---- runs -------------------------------------------------------------

  createRun(input: CreateRunInput): number {
    const { model, isSelftest } = describePlan(input.plan);
    const now = Date.now();
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO runs (name, status, plan_json, host_json, model, is_selftest, overrides_json, parent_run_id, created_at, owner_pid, owner_token)
           VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          input.plan.name ?? null,
          JSON.stringify(input.plan),
          JSON.stringify(input.host),
          model,
          isSelftest ? 1 : 0,
          input.overrides ? JSON.stringify(input.overrides) : null,
          input.parentRunId ?? null,
          now,
          input.owner?.pid ?? null,
          input.owner?.token ?? null,
        );
      const runId = Number(info.lastInsertRowid);
      const insertStage = this.db.prepare(
        `INSERT INTO stages (run_id, idx, kind, params_json, status) VALUES (?, ?, ?, ?, 'pending')`,
      );
      input.plan.stages.forEach((stage, idx) => insertStage.run(runId, idx, stage.kind, JSON.stringify(stage.params)));
      return runId;
    })();
  }

  setRunStatus(runId: number, status: RunStatus, extra: { error?: ErrorData | null } = {}): void {
    const now = Date.now();
    const running = status === 'running';
    const finished = !running && status !== 'queued';
    this.db
      .prepare(
        `UPDATE runs SET status = ?,
           started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
           finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
           error_json = CASE WHEN ? THEN ? ELSE error_json END
         WHERE id = ?`,
      )
      .run(status, running ? 1 : 0, now, finished ? 1 : 0, now, 'error' in extra ? 1 : 0, extra.error ? JSON.stringify(extra.error) : null, runId);
  }

  updateStage(stageId: number, patch: StagePatch): void {
    const columns: Record<keyof StagePatch, string> = {
      status: 'status',
      startedAt: 'started_at',
      finishedAt: 'finished_at',
      progress: 'progress',
      phase: 'phase',
      message: 'message',
      exitCode: 'exit_code',
      error: 'error_json',
      result: 'result_json',
      peakRssBytes: 'peak_rss_bytes',
      reusedFromStageId: 'reused_from_stage_id',
      pid: 'pid',
    };
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof StagePatch, unknown][]) {
      sets.push(`${columns[key]} = ?`);
      values.push(key === 'error' || key === 'result' ? (value === null ? null : JSON.stringify(value)) : value);
    }
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE stages SET ${sets.join(', ')} WHERE id = ?`).run(...values, stageId);
  }

  /**
   * Runs a crash or power loss left running or queued become `interrupted`,
   * with their logs kept. `isOwnerAlive` tells whether the process that owns a
   * run (another app window, a CLI run) is still alive, so its run is left alone.
   */
  recoverInterrupted(isOwnerAlive: (pid: number, token: string | null) => boolean): number[] {
    const rows = this.db
      .prepare(`SELECT id, owner_pid, owner_token FROM runs WHERE status IN ('running','queued')`)
      .all() as { id: number; owner_pid: number | null; owner_token: string | null }[];
    const orphaned = rows.filter((row) => row.owner_pid === null || !isOwnerAlive(row.owner_pid, row.owner_token)).map((row) => row.id);
    const now = Date.now();
    const tx = this.db.transaction(() => {
      for (const id of orphaned) {
        this.db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?`).run(now, id);
        this.db
          .prepare(`UPDATE stages SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'`)
          .run(now, id);
        this.db.prepare(`UPDATE stages SET status = 'skipped' WHERE run_id = ? AND status = 'pending'`).run(id);
        this.insertLog.run(
          id,
          null,
          now,
          'warn',
          'system',
          'The run was interrupted: the process running it ended without finishing it (crash, kill or power loss). Logs up to that point are kept.',
        );
      }
    });
    tx();
    return orphaned;
  }

  /** Stages of these runs that recorded a process id (for stopping orphans after a crash). */
  stageProcesses(runIds: number[]): { runId: number; stageId: number; idx: number; kind: StageKind; pid: number }[] {
    if (runIds.length === 0) return [];
    return this.db
      .prepare(`SELECT run_id AS runId, id AS stageId, idx, kind, pid FROM stages WHERE pid IS NOT NULL AND run_id IN (${runIds.map(() => '?').join(',')})`)
      .all(...runIds) as { runId: number; stageId: number; idx: number; kind: StageKind; pid: number }[];
  }

  /** A system line in a run's log, written at once (outside the runner's batching). */
  appendSystemLog(runId: number, stageId: number | null, level: LogLevel, text: string): void {
    this.appendLogs([{ runId, stageId, ts: Date.now(), level, source: 'system', text }]);
    this.flushLogs();
  }

  deleteRun(runId: number): void {
    this.flushLogs();
    const info = this.db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
    if (info.changes === 0) throw new WorkbenchError('run_not_found', `Run ${runId} does not exist.`);
  }

  private summaryFromRow(row: RunRow, stages: StageRow[]): RunSummary {
    const plan = RunPlan.parse(JSON.parse(row.plan_json));
    const { keyParams } = describePlan(plan);
    const current = stages.find((stage) => stage.status === 'running') ?? null;
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      model: row.model,
      isSelftest: row.is_selftest === 1,
      stageKinds: stages.map((stage) => stage.kind),
      keyParams,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      peakRssBytes: row.peak_rss_bytes,
      peakSysUsedBytes: row.peak_sys_used_bytes,
      parentRunId: row.parent_run_id,
      error: parseJson<ErrorData>(row.error_json),
      currentStage: current ? { kind: current.kind, progress: current.progress, phase: current.phase } : null,
    };
  }

  private stagesOf(runIds: number[]): Map<number, StageRow[]> {
    const byRun = new Map<number, StageRow[]>();
    if (runIds.length === 0) return byRun;
    const rows = this.db
      .prepare(`SELECT * FROM stages WHERE run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY run_id, idx`)
      .all(...runIds) as StageRow[];
    for (const row of rows) {
      const list = byRun.get(row.run_id);
      if (list) list.push(row);
      else byRun.set(row.run_id, [row]);
    }
    return byRun;
  }

  listRuns(query: RunListQuery = {}): { runs: RunSummary[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status && query.status.length > 0) {
      where.push(`status IN (${query.status.map(() => '?').join(',')})`);
      params.push(...query.status);
    }
    if (query.logQuery) {
      const fts = toFtsQuery(query.logQuery);
      if (fts) {
        this.flushLogs();
        const upto = this.indexedUpto();
        const tail = tailClause(searchTerms(query.logQuery), 'text');
        where.push(
          `(id IN (SELECT run_id FROM log_lines WHERE id IN (SELECT rowid FROM log_fts WHERE log_fts MATCH ?))
            OR id IN (SELECT run_id FROM log_lines WHERE id > ? AND ${tail.sql}))`,
        );
        params.push(fts, upto, ...tail.params);
      }
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM runs ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM runs ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, query.limit ?? 100, query.offset ?? 0) as RunRow[];
    const stages = this.stagesOf(rows.map((row) => row.id));
    return { runs: rows.map((row) => this.summaryFromRow(row, stages.get(row.id) ?? [])), total };
  }

  private runRow(runId: number): RunRow {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    if (!row) throw new WorkbenchError('run_not_found', `Run ${runId} does not exist.`);
    return row;
  }

  getRunSummary(runId: number): RunSummary {
    const row = this.runRow(runId);
    return this.summaryFromRow(row, this.stagesOf([runId]).get(runId) ?? []);
  }

  getRun(runId: number): RunDetail {
    this.flushLogs();
    const row = this.runRow(runId);
    const stageRows = this.stagesOf([runId]).get(runId) ?? [];
    return {
      ...this.summaryFromRow(row, stageRows),
      plan: RunPlan.parse(JSON.parse(row.plan_json)),
      host: JSON.parse(row.host_json) as HostSnapshot,
      overrides: parseJson<Record<string, unknown>>(row.overrides_json),
      stages: stageRows.map(stageFromRow),
      artifacts: this.artifacts(runId),
      metrics: this.metrics(runId),
      logCount: (this.db.prepare('SELECT COUNT(*) AS n FROM log_lines WHERE run_id = ?').get(runId) as { n: number }).n,
    };
  }

  getStage(stageId: number): StageRecord {
    const row = this.db.prepare('SELECT * FROM stages WHERE id = ?').get(stageId) as StageRow | undefined;
    if (!row) throw new WorkbenchError('stage_not_found', `Stage ${stageId} does not exist.`);
    return stageFromRow(row);
  }

  owner(runId: number): { pid: number | null; token: string | null } {
    const row = this.runRow(runId);
    return { pid: row.owner_pid, token: row.owner_token };
  }

  // ---- logs -------------------------------------------------------------

  /** Queues log lines; they are written in one transaction per batch. */
  appendLogs(lines: NewLogLine[]): void {
    this.pendingLogs.push(...lines);
    if (this.pendingLogs.length >= LOG_FLUSH_LINES) this.flushLogs();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flushLogs(), LOG_FLUSH_MS);
  }

  flushLogs(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pendingLogs.length === 0) return;
    const batch = this.pendingLogs;
    this.pendingLogs = [];
    this.insertLogsTx(batch);
    this.scheduleIndexing();
  }

  // ---- background full-text indexing ------------------------------------

  /** The highest log line id already in the full-text index. */
  indexedUpto(): number {
    return (this.db.prepare('SELECT indexed_upto AS n FROM fts_state WHERE id = 1').get() as { n: number }).n;
  }

  /**
   * Adds up to `maxLines` not-yet-indexed lines to the full-text index in one
   * transaction; returns how many it added. Called in small chunks from an idle
   * timer so the event loop (and a stage's output) never waits on tokenizing.
   */
  indexLogs(maxLines = INDEX_CHUNK_LINES): number {
    return this.db.transaction(() => {
      const upto = this.indexedUpto();
      const last = this.db
        .prepare('SELECT MAX(id) AS id, COUNT(*) AS n FROM (SELECT id FROM log_lines WHERE id > ? ORDER BY id LIMIT ?)')
        .get(upto, maxLines) as { id: number | null; n: number };
      if (!last.id) return 0;
      this.db.prepare('INSERT INTO log_fts (rowid, text) SELECT id, text FROM log_lines WHERE id > ? AND id <= ? ORDER BY id').run(upto, last.id);
      this.db.prepare('UPDATE fts_state SET indexed_upto = ? WHERE id = 1').run(last.id);
      return last.n;
    })();
  }

  /** Indexes everything still pending (tests, benchmarks, the CLI before exiting). */
  indexAllLogs(): void {
    this.flushLogs();
    while (this.indexLogs(INDEX_CHUNK_LINES * 10) > 0) {
      // keep going until the index has caught up
    }
  }

  private scheduleIndexing(): void {
    if (this.indexTimer || this.closed) return;
    const step = () => {
      this.indexTimer = null;
      if (this.closed) return;
      const added = this.indexLogs();
      if (added === INDEX_CHUNK_LINES) {
        this.indexTimer = setTimeout(step, 0);
        this.indexTimer.unref();
      }
    };
    this.indexTimer = setTimeout(step, INDEX_DELAY_MS);
    this.indexTimer.unref();
  }

  /**
   * One run's log lines in order. `contains` keeps the lines holding that text
   * anywhere, ignoring case (see containsClause): grep, not word search, so it
   * does not use the full-text index.
   */
  getLogs(runId: number, options: { afterId?: number; limit?: number; stageId?: number; levels?: LogLevel[]; contains?: string } = {}): LogLine[] {
    this.flushLogs();
    const where = ['run_id = ?', 'id > ?'];
    const params: unknown[] = [runId, options.afterId ?? 0];
    if (options.stageId !== undefined) {
      where.push('stage_id = ?');
      params.push(options.stageId);
    }
    if (options.levels && options.levels.length > 0) {
      where.push(`level IN (${options.levels.map(() => '?').join(',')})`);
      params.push(...options.levels);
    }
    if (options.contains !== undefined) {
      const contains = containsClause(options.contains, 'text');
      where.push(contains.sql);
      params.push(...contains.params);
    }
    const rows = this.db
      .prepare(`SELECT id, run_id, stage_id, ts, level, source, text FROM log_lines WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
      .all(...params, options.limit ?? 5000) as {
      id: number;
      run_id: number;
      stage_id: number | null;
      ts: number;
      level: LogLevel;
      source: LogLine['source'];
      text: string;
    }[];
    return rows.map((row) => ({ id: row.id, runId: row.run_id, stageId: row.stage_id, ts: row.ts, level: row.level, source: row.source, text: row.text }));
  }

  /**
   * Full-text search across every run's logs (or one run's), newest first,
   * matches marked. Indexed lines go through FTS5 in rowid order (so a common
   * word stops after `limit` hits instead of sorting all of them); the small
   * not-yet-indexed tail is matched by substring.
   */
  searchLogs(query: string, options: { runId?: number; limit?: number } = {}): LogSearchHit[] {
    const fts = toFtsQuery(query);
    if (!fts) return [];
    this.flushLogs();
    const limit = options.limit ?? 200;
    const terms = searchTerms(query);
    const upto = this.indexedUpto();
    const runFilter = options.runId !== undefined ? 'AND l.run_id = ?' : '';
    const runParams = options.runId !== undefined ? [options.runId] : [];
    const select = `SELECT l.id AS lineId, l.run_id AS runId, r.name AS runName, r.status AS runStatus, s.kind AS stageKind, l.ts AS ts, l.level AS level`;
    try {
      const tail = tailClause(terms, 'l.text');
      const tailRows = this.db
        .prepare(
          `${select}, l.text AS snippet FROM log_lines l JOIN runs r ON r.id = l.run_id LEFT JOIN stages s ON s.id = l.stage_id
            WHERE l.id > ? AND ${tail.sql} ${runFilter} ORDER BY l.id DESC LIMIT ?`,
        )
        .all(upto, ...tail.params, ...runParams, limit) as LogSearchHit[];
      const hits = tailRows.map((row) => ({ ...row, snippet: clip(markTerms(row.snippet, terms), 600) }));
      if (hits.length < limit) {
        const indexed = this.db
          .prepare(
            `${select}, highlight(log_fts, 0, ?, ?) AS snippet FROM log_fts JOIN log_lines l ON l.id = log_fts.rowid
               JOIN runs r ON r.id = l.run_id LEFT JOIN stages s ON s.id = l.stage_id
              WHERE log_fts MATCH ? ${runFilter} ORDER BY log_fts.rowid DESC LIMIT ?`,
          )
          .all(HIGHLIGHT_START, HIGHLIGHT_END, fts, ...runParams, limit - hits.length) as LogSearchHit[];
        for (const row of indexed) hits.push({ ...row, snippet: clip(row.snippet, 600) });
      }
      return hits;
    } catch (error) {
      throw new WorkbenchError('bad_search', `Cannot search for "${query}": ${(error as Error).message}`);
    }
  }

  // ---- artifacts, metrics, memory ---------------------------------------

  addArtifact(input: Omit<ArtifactRecord, 'id' | 'createdAt'>): ArtifactRecord {
    const createdAt = Date.now();
    const info = this.db
      .prepare('INSERT INTO artifacts (run_id, stage_id, kind, path, size_bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(input.runId, input.stageId, input.kind, input.path, input.sizeBytes, input.sha256, createdAt);
    return { ...input, id: Number(info.lastInsertRowid), createdAt };
  }

  artifacts(runId: number): ArtifactRecord[] {
    return (
      this.db.prepare('SELECT * FROM artifacts WHERE run_id = ? ORDER BY id').all(runId) as {
        id: number;
        run_id: number;
        stage_id: number | null;
        kind: string;
        path: string;
        size_bytes: number | null;
        sha256: string | null;
        created_at: number;
      }[]
    ).map((row) => ({
      id: row.id,
      runId: row.run_id,
      stageId: row.stage_id,
      kind: row.kind,
      path: row.path,
      sizeBytes: row.size_bytes,
      sha256: row.sha256,
      createdAt: row.created_at,
    }));
  }

  addMetric(runId: number, stageId: number | null, name: string, value: number, unit: string | null): void {
    this.db.prepare('INSERT INTO metrics (run_id, stage_id, t, name, value, unit) VALUES (?, ?, ?, ?, ?, ?)').run(runId, stageId, Date.now(), name, value, unit);
  }

  metrics(runId: number): MetricRecord[] {
    return (
      this.db.prepare('SELECT stage_id, t, name, value, unit FROM metrics WHERE run_id = ? ORDER BY id').all(runId) as {
        stage_id: number | null;
        t: number;
        name: string;
        value: number;
        unit: string | null;
      }[]
    ).map((row) => ({ stageId: row.stage_id, t: row.t, name: row.name, value: row.value, unit: row.unit }));
  }

  /** Stores one sample and keeps the run's and stage's peaks current. */
  addMemorySample(runId: number, stageId: number | null, sample: MemorySample): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO memory_samples (run_id, stage_id, t, sys_total, sys_available, sys_used, swap_total, swap_used, tree_rss)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(runId, stageId, Math.round(sample.t), sample.sysTotal, sample.sysAvailable, sample.sysUsed, sample.swapTotal, sample.swapUsed, sample.treeRss);
      this.db
        .prepare(
          `UPDATE runs SET peak_rss_bytes = MAX(COALESCE(peak_rss_bytes, 0), ?), peak_sys_used_bytes = MAX(COALESCE(peak_sys_used_bytes, 0), ?) WHERE id = ?`,
        )
        .run(sample.treeRss, sample.sysUsed, runId);
      if (stageId !== null) {
        this.db.prepare('UPDATE stages SET peak_rss_bytes = MAX(COALESCE(peak_rss_bytes, 0), ?) WHERE id = ?').run(sample.treeRss, stageId);
      }
    })();
  }

  memorySamples(runId: number): (MemorySample & { stageId: number | null })[] {
    return (
      this.db
        .prepare(
          `SELECT stage_id AS stageId, t, sys_total AS sysTotal, sys_available AS sysAvailable, sys_used AS sysUsed,
                  swap_total AS swapTotal, swap_used AS swapUsed, tree_rss AS treeRss
             FROM memory_samples WHERE run_id = ? ORDER BY t`,
        )
        .all(runId) as (MemorySample & { stageId: number | null })[]
    );
  }

  // ---- settings (key → JSON) --------------------------------------------

  getSetting<T>(key: string): T | null {
    const row = this.db.prepare('SELECT value_json FROM settings WHERE key = ?').get(key) as { value_json: string } | undefined;
    return row ? (JSON.parse(row.value_json) as T) : null;
  }

  setSetting(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO settings (key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json')
      .run(key, JSON.stringify(value));
  }

  deleteSetting(key: string): void {
    this.db.prepare('DELETE FROM settings WHERE key = ?').run(key);
  }
}

function stageFromRow(row: StageRow): StageRecord {
  return {
    id: row.id,
    runId: row.run_id,
    idx: row.idx,
    kind: row.kind,
    params: JSON.parse(row.params_json) as Record<string, unknown>,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    progress: row.progress,
    phase: row.phase,
    message: row.message,
    exitCode: row.exit_code,
    error: parseJson<ErrorData & { hint?: string }>(row.error_json),
    result: parseJson<Record<string, unknown>>(row.result_json),
    peakRssBytes: row.peak_rss_bytes,
    reusedFromStageId: row.reused_from_stage_id,
  };
}

/** Keeps a highlighted snippet short while keeping the first match visible. */
function clip(snippet: string, max: number): string {
  if (snippet.length <= max) return snippet;
  const first = Math.max(0, snippet.indexOf(HIGHLIGHT_START) - 80);
  const end = Math.min(snippet.length, first + max);
  return `${first > 0 ? '…' : ''}${snippet.slice(first, end)}${end < snippet.length ? '…' : ''}`;
}

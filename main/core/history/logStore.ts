/**
 * Log lines of runs: batched writes (a chatty converter prints thousands of
 * lines a second), the background full-text index, per-run reads with a
 * grep-like filter and the search across every run. Split out of the history
 * so the run records and the log machinery can be read (and changed) apart.
 */
import { WorkbenchError } from '../../common/errors.js';
import { HIGHLIGHT_END, HIGHLIGHT_START, type LogLine, type LogSearchHit } from '../../common/runs.js';
import type { LogLevel } from '../../common/stageProtocol.js';
import type { Db } from './database.js';

export interface NewLogLine {
  runId: number;
  stageId: number | null;
  ts: number;
  level: LogLevel;
  source: 'stdout' | 'stderr' | 'event' | 'system';
  text: string;
}

const LOG_FLUSH_LINES = 5000;
const LOG_FLUSH_MS = 100;
/** Lines tokenized per indexing step (~40 ms of work on a slow core). */
const INDEX_CHUNK_LINES = 1000;
const INDEX_DELAY_MS = 250;

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

/** Keeps a highlighted snippet short while keeping the first match visible. */
function clip(snippet: string, max: number): string {
  if (snippet.length <= max) return snippet;
  const first = Math.max(0, snippet.indexOf(HIGHLIGHT_START) - 80);
  const end = Math.min(snippet.length, first + max);
  return `${first > 0 ? '…' : ''}${snippet.slice(first, end)}${end < snippet.length ? '…' : ''}`;
}

export class LogStore {
  private pendingLogs: NewLogLine[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private indexTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly insertLog;
  private readonly insertLogsTx;

  constructor(private readonly db: Db) {
    this.db.function(UNICODE_LOWER, { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
    this.insertLog = this.db.prepare(
      'INSERT INTO log_lines (run_id, stage_id, ts, level, source, text) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // Positional binding: measurably faster than named parameters on this hot path.
    this.insertLogsTx = this.db.transaction((lines: NewLogLine[]) => {
      for (const line of lines) this.insertLog.run(line.runId, line.stageId, line.ts, line.level, line.source, line.text);
    });
  }

  /** Writes what is pending and stops background indexing (before the database closes). */
  close(): void {
    this.flush();
    this.closed = true;
    if (this.indexTimer) clearTimeout(this.indexTimer);
  }

  /** One line written at once, inside the caller's transaction if there is one. */
  insertNow(line: NewLogLine): void {
    this.insertLog.run(line.runId, line.stageId, line.ts, line.level, line.source, line.text);
  }

  /** Queues log lines; they are written in one transaction per batch. */
  append(lines: NewLogLine[]): void {
    this.pendingLogs.push(...lines);
    if (this.pendingLogs.length >= LOG_FLUSH_LINES) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), LOG_FLUSH_MS);
  }

  flush(): void {
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

  count(runId: number): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM log_lines WHERE run_id = ?').get(runId) as { n: number }).n;
  }

  /** Time of the newest line of a run, or null when it has none. */
  lastTs(runId: number): number | null {
    this.flush();
    return (this.db.prepare('SELECT MAX(ts) AS ts FROM log_lines WHERE run_id = ?').get(runId) as { ts: number | null }).ts;
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
  index(maxLines = INDEX_CHUNK_LINES): number {
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
  indexAll(): void {
    this.flush();
    while (this.index(INDEX_CHUNK_LINES * 10) > 0) {
      // keep going until the index has caught up
    }
  }

  private scheduleIndexing(): void {
    if (this.indexTimer || this.closed) return;
    const step = () => {
      this.indexTimer = null;
      if (this.closed) return;
      const added = this.index();
      if (added === INDEX_CHUNK_LINES) {
        this.indexTimer = setTimeout(step, 0);
        this.indexTimer.unref();
      }
    };
    this.indexTimer = setTimeout(step, INDEX_DELAY_MS);
    this.indexTimer.unref();
  }

  /**
   * A WHERE condition on runs (column `id`) keeping those whose logs match a
   * full-text query, indexed or not yet; null when the query has no terms.
   */
  runsMatching(logQuery: string): { sql: string; params: unknown[] } | null {
    const fts = toFtsQuery(logQuery);
    if (!fts) return null;
    this.flush();
    const upto = this.indexedUpto();
    const tail = tailClause(searchTerms(logQuery), 'text');
    return {
      sql: `(id IN (SELECT run_id FROM log_lines WHERE id IN (SELECT rowid FROM log_fts WHERE log_fts MATCH ?))
            OR id IN (SELECT run_id FROM log_lines WHERE id > ? AND ${tail.sql}))`,
      params: [fts, upto, ...tail.params],
    };
  }

  /**
   * One run's log lines in order. `contains` keeps the lines holding that text
   * anywhere, ignoring case (see containsClause): grep, not word search, so it
   * does not use the full-text index.
   */
  get(runId: number, options: { afterId?: number; limit?: number; stageId?: number; levels?: LogLevel[]; contains?: string } = {}): LogLine[] {
    this.flush();
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
  search(query: string, options: { runId?: number; limit?: number } = {}): LogSearchHit[] {
    const fts = toFtsQuery(query);
    if (!fts) return [];
    this.flush();
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
}

/**
 * Runs and their stages: creating a run from its plan, status and stage
 * updates from the runner, crash recovery, and the summaries the run list and
 * the run page read. Split out of the history; logs, artifacts and memory
 * samples live in their own stores and are combined by History.getRun.
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import type { ErrorData, HostSnapshot, RunStatus, RunSummary, StageRecord, StageStatus } from '../../common/runs.js';
import { RunPlan, type StageKind } from '../../common/stages/plan.js';
import type { Db } from './database.js';
import type { LogStore } from './logStore.js';

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

export interface RunRow {
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

export interface StageRow {
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
      case 'evaluate':
        model ??= path.basename(stage.params.modelDir);
        break;
      case 'demo':
        model ??= 'demonstration model';
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

export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export class RunStore {
  constructor(
    private readonly db: Db,
    private readonly logs: LogStore,
  ) {}

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
    this.logs.flush();
    const rows = this.db
      .prepare(`SELECT id, owner_pid, owner_token FROM runs WHERE status IN ('running','queued')`)
      .all() as { id: number; owner_pid: number | null; owner_token: string | null }[];
    const orphaned = rows.filter((row) => row.owner_pid === null || !isOwnerAlive(row.owner_pid, row.owner_token)).map((row) => row.id);
    const now = Date.now();
    const tx = this.db.transaction(() => {
      for (const id of orphaned) {
        // It ended when it was last seen alive, not when this process found it (maybe days later).
        const ended = this.lastSignOfLife(id) ?? now;
        this.db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?`).run(ended, id);
        this.db
          .prepare(`UPDATE stages SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'`)
          .run(ended, id);
        this.db.prepare(`UPDATE stages SET status = 'skipped' WHERE run_id = ? AND status = 'pending'`).run(id);
        this.logs.insertNow({
          runId: id,
          stageId: null,
          ts: now,
          level: 'warn',
          source: 'system',
          text: `The run was interrupted: the process running it ended without finishing it (crash, kill or power loss); it was last seen alive at ${new Date(ended).toISOString()}. Logs up to that point are kept.`,
        });
      }
    });
    tx();
    return orphaned;
  }

  /**
   * The last moment a run was seen alive: its newest log line, memory sample,
   * stage start or finish, or its own start. Null when nothing was recorded.
   */
  private lastSignOfLife(runId: number): number | null {
    const row = this.db
      .prepare(
        `SELECT MAX(t) AS t FROM (
           SELECT MAX(ts) AS t FROM log_lines WHERE run_id = @id
           UNION ALL SELECT MAX(t) FROM memory_samples WHERE run_id = @id
           UNION ALL SELECT MAX(MAX(COALESCE(started_at, 0), COALESCE(finished_at, 0))) FROM stages WHERE run_id = @id
           UNION ALL SELECT COALESCE(started_at, created_at) FROM runs WHERE id = @id
         )`,
      )
      .get({ id: runId }) as { t: number | null };
    return row.t && row.t > 0 ? row.t : null;
  }

  /** Stages of these runs that recorded a process id (for stopping orphans after a crash). */
  stageProcesses(runIds: number[]): { runId: number; stageId: number; idx: number; kind: StageKind; pid: number }[] {
    if (runIds.length === 0) return [];
    return this.db
      .prepare(`SELECT run_id AS runId, id AS stageId, idx, kind, pid FROM stages WHERE pid IS NOT NULL AND run_id IN (${runIds.map(() => '?').join(',')})`)
      .all(...runIds) as { runId: number; stageId: number; idx: number; kind: StageKind; pid: number }[];
  }

  deleteRun(runId: number): void {
    this.logs.flush();
    const info = this.db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
    if (info.changes === 0) throw new WorkbenchError('run_not_found', `Run ${runId} does not exist.`);
  }

  summaryFromRow(row: RunRow, stages: StageRow[]): RunSummary {
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

  stagesOf(runIds: number[]): Map<number, StageRow[]> {
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
      const matching = this.logs.runsMatching(query.logQuery);
      if (matching) {
        where.push(matching.sql);
        params.push(...matching.params);
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

  runRow(runId: number): RunRow {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    if (!row) throw new WorkbenchError('run_not_found', `Run ${runId} does not exist.`);
    return row;
  }

  getRunSummary(runId: number): RunSummary {
    const row = this.runRow(runId);
    return this.summaryFromRow(row, this.stagesOf([runId]).get(runId) ?? []);
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
}

export function stageFromRow(row: StageRow): StageRecord {
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

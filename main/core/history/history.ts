/**
 * The run history: the single owner of the SQLite connection in a process.
 * Every read returns the typed shapes of main/common/runs.ts; every write is
 * a short transaction. What it stores lives in one module each (runStore,
 * logStore, artifactStore, memorySampleStore, settingRows); this class opens
 * the database, composes them and keeps the one API the engine, the runner
 * and the handlers use.
 */
import type { MemorySample } from '../../common/memory.js';
import type { ArtifactRecord, HostSnapshot, LogLine, LogSearchHit, MetricRecord, RunDetail, RunStatus, RunSummary, StageRecord, ErrorData } from '../../common/runs.js';
import type { LogLevel } from '../../common/stageProtocol.js';
import { RunPlan, type StageKind } from '../../common/stages/plan.js';
import { ArtifactStore } from './artifactStore.js';
import { openDatabase, type Db, type OpenOptions } from './database.js';
import { LogStore, type NewLogLine } from './logStore.js';
import { MemorySampleStore } from './memorySampleStore.js';
import { parseJson, RunStore, stageFromRow, type CreateRunInput, type RunListQuery, type StagePatch } from './runStore.js';
import { SettingRows } from './settingRows.js';

export { toFtsQuery, searchTerms, type NewLogLine } from './logStore.js';
export { describePlan, type CreateRunInput, type RunListQuery, type StagePatch } from './runStore.js';

export class History {
  readonly db: Db;
  private readonly runs: RunStore;
  private readonly logs: LogStore;
  private readonly outputs: ArtifactStore;
  private readonly memory: MemorySampleStore;
  private readonly settingRows: SettingRows;

  constructor(
    readonly file: string,
    options: OpenOptions = {},
  ) {
    this.db = openDatabase(file, undefined, options);
    this.logs = new LogStore(this.db);
    this.runs = new RunStore(this.db, this.logs);
    this.outputs = new ArtifactStore(this.db);
    this.memory = new MemorySampleStore(this.db);
    this.settingRows = new SettingRows(this.db);
  }

  close(): void {
    this.logs.close();
    this.db.close();
  }

  // ---- runs and stages (runStore.ts) --------------------------------------

  createRun(input: CreateRunInput): number {
    return this.runs.createRun(input);
  }

  setRunStatus(runId: number, status: RunStatus, extra: { error?: ErrorData | null } = {}): void {
    this.runs.setRunStatus(runId, status, extra);
  }

  updateStage(stageId: number, patch: StagePatch): void {
    this.runs.updateStage(stageId, patch);
  }

  /** See RunStore.recoverInterrupted. */
  recoverInterrupted(isOwnerAlive: (pid: number, token: string | null) => boolean): number[] {
    return this.runs.recoverInterrupted(isOwnerAlive);
  }

  stageProcesses(runIds: number[]): { runId: number; stageId: number; idx: number; kind: StageKind; pid: number }[] {
    return this.runs.stageProcesses(runIds);
  }

  deleteRun(runId: number): void {
    this.runs.deleteRun(runId);
  }

  listRuns(query: RunListQuery = {}): { runs: RunSummary[]; total: number } {
    return this.runs.listRuns(query);
  }

  getRunSummary(runId: number): RunSummary {
    return this.runs.getRunSummary(runId);
  }

  /** A run with everything recorded about it (stages, artifacts, metrics, log count). */
  getRun(runId: number): RunDetail {
    this.logs.flush();
    const row = this.runs.runRow(runId);
    const stageRows = this.runs.stagesOf([runId]).get(runId) ?? [];
    return {
      ...this.runs.summaryFromRow(row, stageRows),
      plan: RunPlan.parse(JSON.parse(row.plan_json)),
      host: JSON.parse(row.host_json) as HostSnapshot,
      overrides: parseJson<Record<string, unknown>>(row.overrides_json),
      stages: stageRows.map(stageFromRow),
      artifacts: this.outputs.artifacts(runId),
      metrics: this.outputs.metrics(runId),
      logCount: this.logs.count(runId),
    };
  }

  getStage(stageId: number): StageRecord {
    return this.runs.getStage(stageId);
  }

  owner(runId: number): { pid: number | null; token: string | null } {
    return this.runs.owner(runId);
  }

  // ---- logs (logStore.ts) -------------------------------------------------

  /** A system line in a run's log, written at once (outside the runner's batching). */
  appendSystemLog(runId: number, stageId: number | null, level: LogLevel, text: string): void {
    this.logs.append([{ runId, stageId, ts: Date.now(), level, source: 'system', text }]);
    this.logs.flush();
  }

  /** Queues log lines; they are written in one transaction per batch. */
  appendLogs(lines: NewLogLine[]): void {
    this.logs.append(lines);
  }

  flushLogs(): void {
    this.logs.flush();
  }

  indexedUpto(): number {
    return this.logs.indexedUpto();
  }

  indexLogs(maxLines?: number): number {
    return this.logs.index(maxLines);
  }

  indexAllLogs(): void {
    this.logs.indexAll();
  }

  getLogs(runId: number, options: { afterId?: number; limit?: number; stageId?: number; levels?: LogLevel[]; contains?: string } = {}): LogLine[] {
    return this.logs.get(runId, options);
  }

  searchLogs(query: string, options: { runId?: number; limit?: number } = {}): LogSearchHit[] {
    return this.logs.search(query, options);
  }

  // ---- artifacts and metrics (artifactStore.ts) ----------------------------

  addArtifact(input: Omit<ArtifactRecord, 'id' | 'createdAt'>): ArtifactRecord {
    return this.outputs.addArtifact(input);
  }

  artifacts(runId: number): ArtifactRecord[] {
    return this.outputs.artifacts(runId);
  }

  addMetric(runId: number, stageId: number | null, name: string, value: number, unit: string | null): void {
    this.outputs.addMetric(runId, stageId, name, value, unit);
  }

  metrics(runId: number): MetricRecord[] {
    return this.outputs.metrics(runId);
  }

  // ---- memory samples (memorySampleStore.ts) -------------------------------

  /** Stores one sample and keeps the run's and stage's peaks current. */
  addMemorySample(runId: number, stageId: number | null, sample: MemorySample): void {
    this.memory.add(runId, stageId, sample);
  }

  memorySamples(runId: number): (MemorySample & { stageId: number | null })[] {
    return this.memory.samples(runId);
  }

  // ---- settings (settingRows.ts) -------------------------------------------

  getSetting<T>(key: string): T | null {
    return this.settingRows.get<T>(key);
  }

  setSetting(key: string, value: unknown): void {
    this.settingRows.set(key, value);
  }

  deleteSetting(key: string): void {
    this.settingRows.delete(key);
  }
}

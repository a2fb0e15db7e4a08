/**
 * The stage runner: executes a run's stages one after another as child
 * processes, turns their protocol output into history records and events,
 * and stops them (cancel, memory guard) by killing the whole process tree.
 *
 * One run executes at a time; others wait in a queue. Two conversions at once
 * would add their peak memory, which is the failure this product prevents.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { WorkbenchError, toErrorData } from '../../common/errors.js';
import type { PlanReview } from '../../common/planReview.js';
import type { ErrorData, HostSnapshot, StageStatus } from '../../common/runs.js';
import type { Settings } from '../../common/settings.js';
import type { LogLevel, StageEvent } from '../../common/stageProtocol.js';
import { RunPlan, type RunPlanInput, type StagePlan } from '../../common/stages/plan.js';
import type { EventBus } from '../events.js';
import type { History, NewLogLine } from '../history/history.js';
import { killProcessTree } from '../process/killTree.js';
import type { PreflightFinding, PreflightMemory, StageDefinition } from '../stages/definition.js';
import { requireAbsolutePlanPaths } from '../stages/planPaths.js';
import { reviewPlan } from '../stages/planReview.js';
import { LineSplitter, parseStageLine } from './lineProtocol.js';
import type { StageMonitor, StageMonitorFactory } from '../../common/stageMonitor.js';
import { recordEvaluationRows } from '../history/evaluations.js';
import { stderrLevel } from './stderrLevel.js';
import { withDefaultRoutes } from '../stages/defaultRoute.js';
import { freshMergeOutputs } from '../stages/planOutputs.js';

export interface RunnerDeps {
  history: History;
  events: EventBus;
  dataDir: string;
  settings: () => Settings;
  host: () => HostSnapshot;
  stageDefinition: (kind: StagePlan['kind']) => StageDefinition;
  /** The calibration and host RAM the preflights judge memory by (the engine's). */
  preflightMemory: PreflightMemory;
  monitors?: StageMonitorFactory[];
  /** Identifies this process as the owner of the runs it starts (crash recovery). */
  ownerToken: string;
  /** Time between SIGTERM and SIGKILL when stopping a stage. */
  killGraceMs?: number;
}

interface ActiveStage {
  stageId: number;
  pid: number | undefined;
  child: ResultPromise;
  /** Why we are stopping it, if we are. */
  stopping: { status: 'cancelled' | 'stopped_by_guard'; message: string; details?: Record<string, unknown> } | null;
  killing: Promise<void> | null;
}

interface QueuedRun {
  runId: number;
  plan: RunPlan;
  /** Stage indexes to skip because a previous run's results are reused. */
  reused: Set<number>;
}

export interface StartOptions {
  parentRunId?: number | null;
  /** Reuse these stage indexes' results from the parent run (retry). */
  reuseFromParent?: number[];
}

const UI_LOG_FLUSH_MS = 150;

export class Runner {
  private readonly queue: QueuedRun[] = [];
  private current: { runId: number; stage: ActiveStage | null; cancelled: boolean } | null = null;
  private readonly idleWaiters: (() => void)[] = [];
  private pendingUiLogs = new Set<number>();
  private uiLogTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: RunnerDeps) {}

  /** Validates the plan, runs every stage's preflight, records the run and queues it. */
  async start(planInput: RunPlanInput, options: StartOptions = {}): Promise<number> {
    const parsed = RunPlan.safeParse(await withDefaultRoutes(planInput));
    if (!parsed.success) {
      throw new WorkbenchError(
        'invalid_plan',
        `The run plan is not valid: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'plan'}: ${issue.message}`).join('; ')}`,
        { issues: parsed.error.issues },
      );
    }
    const plan = parsed.data;
    requireAbsolutePlanPaths(plan);
    const settings = this.deps.settings();
    const allowPredictedOom = plan.allowPredictedOom || settings.allowPredictedOom;
    const reused = new Set(options.reuseFromParent ?? []);
    const findings: PreflightFinding[] = [];
    for (const [idx, stage] of plan.stages.entries()) {
      const definition = this.deps.stageDefinition(stage.kind);
      if (reused.has(idx) || !definition.preflight) continue;
      findings.push(
        ...(await definition.preflight(stage.params as never, { dataDir: this.deps.dataDir, settings, host: this.deps.host(), allowPredictedOom, plan, stageIndex: idx, memory: this.deps.preflightMemory })),
      );
    }
    const overrides: Record<string, unknown> = {};
    if (allowPredictedOom) overrides.allowPredictedOom = { source: plan.allowPredictedOom ? 'plan' : 'settings' };
    const preflightDetails = findings.filter((f) => f.details).map((f) => f.details);
    if (preflightDetails.length > 0) overrides.preflight = preflightDetails;

    const runId = this.deps.history.createRun({
      plan,
      host: this.deps.host(),
      overrides: Object.keys(overrides).length > 0 ? overrides : null,
      parentRunId: options.parentRunId ?? null,
      owner: { pid: process.pid, token: this.deps.ownerToken },
    });
    for (const finding of findings) this.systemLog(runId, null, finding.level, finding.message);
    if (reused.size > 0 && options.parentRunId) this.markReused(runId, options.parentRunId, reused);
    this.queue.push({ runId, plan, reused });
    this.publishRun(runId);
    void this.pump();
    return runId;
  }

  /** What start() would find and refuse, stage by stage, with each stage's predicted peak and duration; records nothing (the wizard's Review page). */
  review(planInput: unknown): Promise<PlanReview> {
    return reviewPlan(planInput, { dataDir: this.deps.dataDir, settings: this.deps.settings(), host: this.deps.host(), memory: this.deps.preflightMemory, stageDefinition: this.deps.stageDefinition });
  }

  /** A new run with the same plan, from the first stage; with newOutputs, a merge writes to a fresh folder (freshMergeOutputs). */
  async rerun(runId: number, options: { newOutputs?: boolean } = {}): Promise<number> {
    const detail = this.deps.history.getRun(runId);
    return this.start(options.newOutputs ? freshMergeOutputs(detail.plan) : detail.plan, { parentRunId: runId });
  }

  /** A new run that reuses the stages that succeeded and starts at the first that did not. */
  async retry(runId: number): Promise<number> {
    const detail = this.deps.history.getRun(runId);
    if (detail.status === 'running' || detail.status === 'queued') {
      throw new WorkbenchError('run_active', `Run ${runId} is still ${detail.status}; cancel it or wait before retrying.`);
    }
    if (detail.status === 'succeeded') {
      throw new WorkbenchError('nothing_to_retry', `Run ${runId} succeeded; use "run again" to repeat it.`);
    }
    const firstUnfinished = detail.stages.findIndex((stage) => stage.status !== 'succeeded' && stage.status !== 'reused');
    const reuse = detail.stages.slice(0, Math.max(0, firstUnfinished)).map((stage) => stage.idx);
    return this.start(detail.plan, { parentRunId: runId, reuseFromParent: reuse });
  }

  async cancel(runId: number): Promise<void> {
    const queued = this.queue.findIndex((entry) => entry.runId === runId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finishRunRecord(runId, 'cancelled', null, 'Cancelled before it started.');
      return;
    }
    if (this.current?.runId !== runId) {
      const summary = this.deps.history.getRunSummary(runId);
      throw new WorkbenchError('run_not_active', `Run ${runId} is ${summary.status}, not running: there is nothing to cancel.`);
    }
    this.current.cancelled = true;
    const active = this.current.stage;
    if (active) await this.stopStage(active, { status: 'cancelled', message: 'Cancelled by the user.' });
  }

  /** Cancels everything (app quit): queued runs are cancelled, the running stage's tree is killed. */
  async shutdown(): Promise<void> {
    for (const entry of this.queue.splice(0)) this.finishRunRecord(entry.runId, 'cancelled', null, 'Cancelled because the app quit.');
    if (this.current) {
      this.current.cancelled = true;
      if (this.current.stage) await this.stopStage(this.current.stage, { status: 'cancelled', message: 'Cancelled because the app quit.' });
    }
    await this.whenIdle();
    this.flushUiLogs();
    this.deps.history.flushLogs();
  }

  isActive(runId: number): boolean {
    return this.current?.runId === runId || this.queue.some((entry) => entry.runId === runId);
  }

  /** Resolves when no run is executing or queued. */
  whenIdle(): Promise<void> {
    if (!this.current && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---- execution --------------------------------------------------------

  private async pump(): Promise<void> {
    if (this.current) return;
    const next = this.queue.shift();
    if (!next) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    this.current = { runId: next.runId, stage: null, cancelled: false };
    try {
      await this.execute(next);
    } catch (error) {
      // A bug in the runner itself: record it on the run rather than losing it.
      this.finishRunRecord(next.runId, 'failed', toErrorData(error), `Internal error: ${toErrorData(error).message}`);
    } finally {
      this.current = null;
      void this.pump();
    }
  }

  private async execute(entry: QueuedRun): Promise<void> {
    const { history } = this.deps;
    history.setRunStatus(entry.runId, 'running');
    this.publishRun(entry.runId);
    const runDir = path.join(this.deps.dataDir, 'runs', String(entry.runId));
    await mkdir(runDir, { recursive: true });
    const stages = history.getRun(entry.runId).stages;

    for (const [idx, stagePlan] of entry.plan.stages.entries()) {
      const record = stages[idx]!;
      if (entry.reused.has(idx)) continue;
      if (this.current?.cancelled) break;
      const outcome = await this.executeStage(entry.runId, record.id, idx, stagePlan, runDir);
      if (outcome.status !== 'succeeded') {
        this.skipRemaining(entry.runId, idx);
        const runStatus = outcome.status === 'cancelled' || outcome.status === 'stopped_by_guard' ? outcome.status : 'failed';
        this.finishRunRecord(entry.runId, runStatus, outcome.error, null);
        return;
      }
    }
    if (this.current?.cancelled) {
      this.finishRunRecord(entry.runId, 'cancelled', null, null);
      return;
    }
    this.finishRunRecord(entry.runId, 'succeeded', null, null);
  }

  private async executeStage(
    runId: number,
    stageId: number,
    idx: number,
    stagePlan: StagePlan,
    runDir: string,
  ): Promise<{ status: StageStatus; error: ErrorData | null }> {
    const { history } = this.deps;
    const definition = this.deps.stageDefinition(stagePlan.kind);
    const settings = this.deps.settings();
    const paramsFile = path.join(runDir, `stage-${idx}-${stagePlan.kind}.params.json`);
    await writeFile(paramsFile, `${JSON.stringify(stagePlan.params, null, 2)}\n`);

    history.updateStage(stageId, { status: 'running', startedAt: Date.now(), progress: 0, phase: 'starting', message: null });
    this.publishStage(stageId);
    this.publishRun(runId);

    let launch;
    try {
      launch = await definition.launch(stagePlan.params as never, {
        runId,
        stageId,
        runDir,
        paramsFile,
        dataDir: this.deps.dataDir,
        settings,
        host: this.deps.host(),
      });
    } catch (error) {
      const data = toErrorData(error);
      return this.finishStage(runId, stageId, 'failed', null, { ...data, hint: (data.details as { hint?: string } | undefined)?.hint });
    }
    this.systemLog(runId, stageId, 'info', `${definition.title}: ${[launch.file, ...launch.args].map(quoteArg).join(' ')}`);

    // Loaded on the first stage, not at start-up: most CLI calls never start one (execa's import is ~0.1 s of CPU).
    const { execa } = await import('execa');
    const child = execa(launch.file, launch.args, {
      cwd: launch.cwd ?? runDir,
      env: { ...launch.env, WORKBENCH_RUN_ID: String(runId), PYTHONUNBUFFERED: '1' },
      extendEnv: true,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // Its own process group, so one signal reaches the whole tree.
      detached: process.platform !== 'win32',
      cleanup: true,
      windowsHide: true,
    });
    const active: ActiveStage = { stageId, pid: child.pid, child, stopping: null, killing: null };
    if (child.pid !== undefined) history.updateStage(stageId, { pid: child.pid });
    if (this.current) this.current.stage = active;

    let stageError: (ErrorData & { hint?: string }) | null = null;
    let result: Record<string, unknown> | null = null;
    const artifacts: { kind: string; path: string }[] = [];
    const stderrTail: string[] = [];

    const handleEvent = (event: StageEvent): void => {
      switch (event.type) {
        case 'progress':
          history.updateStage(stageId, {
            progress: event.fraction,
            ...(event.phase !== undefined ? { phase: event.phase } : {}),
            ...(event.message !== undefined ? { message: event.message } : {}),
          });
          this.publishStage(stageId);
          break;
        case 'log':
          this.log(runId, stageId, event.level, 'event', event.text);
          break;
        case 'metric':
          history.addMetric(runId, stageId, event.name, event.value, event.unit ?? null);
          break;
        case 'artifact':
          artifacts.push({ kind: event.kind, path: event.path });
          this.log(runId, stageId, 'info', 'event', `Artifact (${event.kind}): ${event.path}`);
          break;
        case 'result':
          result = { ...(result ?? {}), ...event.data };
          break;
        case 'error':
          stageError = { code: event.code, message: event.message, ...(event.hint ? { hint: event.hint } : {}) };
          this.log(runId, stageId, 'error', 'event', event.hint ? `${event.message} — ${event.hint}` : event.message);
          break;
      }
    };
    const stdout = new LineSplitter((line) => {
      const parsed = parseStageLine(line);
      if (parsed.kind === 'event') handleEvent(parsed.event);
      else if (parsed.text.length > 0) this.log(runId, stageId, 'info', 'stdout', parsed.text);
    });
    const stderr = new LineSplitter((line) => {
      if (line.length === 0) return;
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      const level: LogLevel = stderrLevel(line);
      this.log(runId, stageId, level, 'stderr', line);
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

    const monitors: StageMonitor[] = [];
    if (child.pid !== undefined) {
      for (const factory of this.deps.monitors ?? []) {
        monitors.push(
          factory({
            runId,
            stageId,
            stage: stagePlan,
            pid: child.pid,
            settings,
            recordSample: (sample) => {
              history.addMemorySample(runId, stageId, sample);
              this.deps.events.publish({ type: 'memory', runId, stageId, sample });
            },
            log: (level, text) => this.systemLog(runId, stageId, level, text),
            stop: (outcome) => void this.stopStage(active, outcome),
          }),
        );
      }
    }
    // A cancel that arrived while the stage was launching.
    if (this.current?.cancelled && !active.stopping) void this.stopStage(active, { status: 'cancelled', message: 'Cancelled by the user.' });

    const exit = await child;
    stdout.end();
    stderr.end();
    for (const monitor of monitors) monitor.dispose();
    if (active.killing) await active.killing;

    const published: string[] = [];
    for (const artifact of artifacts) {
      if (await this.recordArtifact(runId, stageId, artifact.kind, artifact.path)) published.push(`${artifact.kind} ${artifact.path}`);
    }
    if (result) history.updateStage(stageId, { result });
    if (result) recordEvaluationRows(history.db, runId, stageId, result);
    // Stopped or killed after it had published its output: the output is complete, recorded, and said to be kept.
    const kept = published.length > 0 && (active.stopping !== null || exit.exitCode !== 0) ? `It had already published ${published.join(' and ')}, which is complete and kept.` : null;
    if (kept) this.systemLog(runId, stageId, 'info', kept);

    if (active.stopping) {
      const { status, message, details } = active.stopping;
      const code = status === 'cancelled' ? 'cancelled' : 'stopped_by_memory_guard';
      return this.finishStage(runId, stageId, status, exit.exitCode ?? null, { code, message, ...(details ? { details } : {}), ...(kept ? { hint: kept } : {}) });
    }
    if (stageError) {
      const failure: ErrorData & { hint?: string } = stageError;
      return this.finishStage(runId, stageId, 'failed', exit.exitCode ?? null, kept ? { ...failure, hint: [failure.hint, kept].filter(Boolean).join(' ') } : failure);
    }
    if (exit.exitCode !== 0) {
      const bySignal = exit.signal ? ` (killed by ${exit.signal})` : '';
      const hint =
        exit.signal === 'SIGKILL'
          ? 'Something outside the workbench killed the stage; on Linux that is usually the out-of-memory killer (see `dmesg`).'
          : stderrTail.length > 0
            ? `Last output: ${stderrTail.slice(-3).join(' | ')}`
            : undefined;
      return this.finishStage(runId, stageId, 'failed', exit.exitCode ?? null, {
        code: exit.signal ? 'killed' : 'exit_code',
        message: `The ${definition.title.toLowerCase()} stage exited with ${exit.exitCode ?? 'no'} exit code${bySignal}.`,
        ...(kept || hint ? { hint: [kept, hint].filter(Boolean).join(' ') } : {}),
      });
    }
    return this.finishStage(runId, stageId, 'succeeded', 0, null);
  }

  private stopStage(active: ActiveStage, outcome: NonNullable<ActiveStage['stopping']>): Promise<void> {
    if (active.killing) return active.killing;
    active.stopping = outcome;
    const runId = this.current?.runId;
    if (runId !== undefined) this.systemLog(runId, active.stageId, outcome.status === 'cancelled' ? 'warn' : 'error', outcome.message);
    active.killing =
      active.pid === undefined
        ? Promise.resolve()
        : killProcessTree(active.pid, { graceMs: this.deps.killGraceMs ?? 3000, processGroup: process.platform !== 'win32' });
    return active.killing;
  }

  private finishStage(
    runId: number,
    stageId: number,
    status: StageStatus,
    exitCode: number | null,
    error: (ErrorData & { hint?: string }) | null,
  ): { status: StageStatus; error: ErrorData | null } {
    // The stage's last lines (its refusal, the stop) reach subscribers before its final status.
    this.flushUiLogs();
    this.deps.history.updateStage(stageId, {
      status,
      pid: null,
      finishedAt: Date.now(),
      exitCode,
      error,
      ...(status === 'succeeded' ? { progress: 1, phase: 'done' } : {}),
    });
    this.publishStage(stageId);
    return { status, error };
  }

  private skipRemaining(runId: number, failedIdx: number): void {
    const stages = this.deps.history.getRun(runId).stages;
    for (const stage of stages) {
      if (stage.idx > failedIdx && stage.status === 'pending') {
        this.deps.history.updateStage(stage.id, { status: 'skipped' });
        this.publishStage(stage.id);
      }
    }
  }

  private markReused(runId: number, parentRunId: number, reused: Set<number>): void {
    const parent = this.deps.history.getRun(parentRunId);
    const stages = this.deps.history.getRun(runId).stages;
    for (const stage of stages) {
      if (!reused.has(stage.idx)) continue;
      const source = parent.stages[stage.idx];
      if (!source) continue;
      this.deps.history.updateStage(stage.id, {
        status: 'reused',
        reusedFromStageId: source.id,
        result: source.result,
        progress: 1,
        message: `Reused from run ${parentRunId}`,
      });
      for (const artifact of parent.artifacts.filter((a) => a.stageId === source.id)) {
        this.deps.history.addArtifact({ ...artifact, runId, stageId: stage.id });
      }
    }
    this.systemLog(runId, null, 'info', `Retry of run ${parentRunId}: reusing ${reused.size} finished stage(s) and their artifacts.`);
  }

  private finishRunRecord(runId: number, status: 'succeeded' | 'failed' | 'cancelled' | 'stopped_by_guard', error: ErrorData | null, note: string | null): void {
    if (note) this.systemLog(runId, null, status === 'failed' ? 'error' : 'info', note);
    if (status === 'cancelled') {
      for (const stage of this.deps.history.getRun(runId).stages) {
        if (stage.status === 'pending') this.deps.history.updateStage(stage.id, { status: 'skipped' });
      }
    }
    this.deps.history.setRunStatus(runId, status, { error });
    this.flushUiLogs();
    this.deps.history.flushLogs();
    this.publishRun(runId);
  }

  /** Records an artifact the stage reported; true when it exists. */
  private async recordArtifact(runId: number, stageId: number, kind: string, file: string): Promise<boolean> {
    let sizeBytes: number | null = null;
    let sha256: string | null = null;
    try {
      const info = await stat(file);
      if (info.isFile()) {
        sizeBytes = info.size;
        sha256 = await hashFile(file);
      } else if (info.isDirectory()) {
        sizeBytes = null;
      }
    } catch {
      this.systemLog(runId, stageId, 'warn', `The stage reported an artifact that does not exist: ${file}`);
      this.deps.history.addArtifact({ runId, stageId, kind, path: file, sizeBytes, sha256 });
      return false;
    }
    this.deps.history.addArtifact({ runId, stageId, kind, path: file, sizeBytes, sha256 });
    return true;
  }

  // ---- logs and events ---------------------------------------------------

  private log(runId: number, stageId: number | null, level: LogLevel, source: NewLogLine['source'], text: string): void {
    const line: NewLogLine = { runId, stageId, ts: Date.now(), level, source, text };
    this.deps.history.appendLogs([line]);
    this.pendingUiLogs.add(runId);
    if (!this.uiLogTimer) this.uiLogTimer = setTimeout(() => this.flushUiLogs(), UI_LOG_FLUSH_MS);
  }

  private systemLog(runId: number, stageId: number | null, level: LogLevel, text: string): void {
    this.log(runId, stageId, level, 'system', text);
  }

  /**
   * Sends buffered lines to the UI. Lines go to the database first, so the
   * event carries the stored rows (with ids) and a late subscriber can resume
   * from the last id it saw.
   */
  private flushUiLogs(): void {
    if (this.uiLogTimer) {
      clearTimeout(this.uiLogTimer);
      this.uiLogTimer = null;
    }
    if (this.pendingUiLogs.size === 0) return;
    const pending = this.pendingUiLogs;
    this.pendingUiLogs = new Set();
    this.deps.history.flushLogs();
    for (const runId of pending.keys()) {
      const stored = this.deps.history.getLogs(runId, { afterId: this.lastUiLogId.get(runId) ?? 0, limit: 1_000_000 });
      if (stored.length === 0) continue;
      this.lastUiLogId.set(runId, stored[stored.length - 1]!.id);
      this.deps.events.publish({ type: 'logs', runId, lines: stored });
    }
  }

  private readonly lastUiLogId = new Map<number, number>();

  private publishRun(runId: number): void {
    this.deps.events.publish({ type: 'run', run: this.deps.history.getRunSummary(runId) });
  }

  private publishStage(stageId: number): void {
    this.deps.events.publish({ type: 'stage', stage: this.deps.history.getStage(stageId) });
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

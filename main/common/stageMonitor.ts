/**
 * How watchers (the memory sampler and guard) plug into a running stage
 * without the runner knowing what they watch. A contract of types only, here
 * so the runner (core/runner) and the monitors (core/memory) both depend on it
 * rather than on each other.
 */
import type { MemorySample } from './memory.js';
import type { Settings } from './settings.js';
import type { LogLevel } from './stageProtocol.js';
import type { StagePlan } from './stages/plan.js';

export interface StageMonitorContext {
  runId: number;
  stageId: number;
  /** Kind and validated parameters of the stage being watched. */
  stage: StagePlan;
  /** Root pid of the stage's process tree. */
  pid: number;
  settings: Settings;
  /** Store the sample with the run and stream it to the UI. */
  recordSample(sample: MemorySample): void;
  /** Append a line to the stage's log (e.g. crossing the warn level). */
  log(level: LogLevel, text: string): void;
  /** Ask the runner to stop the stage's process tree and record it with this outcome. */
  stop(outcome: { status: 'stopped_by_guard'; message: string; details: Record<string, unknown> }): void;
}

export interface StageMonitor {
  dispose(): void;
}

export type StageMonitorFactory = (ctx: StageMonitorContext) => StageMonitor;

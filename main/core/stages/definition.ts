/**
 * What the runner needs to know about a kind of stage: how to check its plan
 * before anything starts, and which process to launch. Each kind lives in its
 * own module (selftest.ts, merge.ts, convert.ts, …) and is listed in registry.ts.
 */
import type { PreflightFinding } from '../../common/preflight.js';
import type { Settings } from '../../common/settings.js';
import type { RunPlan, StageKind, StagePlan } from '../../common/stages/plan.js';
import type { HostSnapshot } from '../../common/runs.js';
import type { AppliedCalibration } from '../memory/estimator.js';
import type { HostMemory } from '../memory/sampler.js';
import { WASM_ENGINE_NODE_FLAGS } from '../process/wasmEngineFlags.js';

export type { PreflightFinding } from '../../common/preflight.js';

export interface StageLaunch {
  file: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface StageContext {
  runId: number;
  stageId: number;
  /** The run's work folder (parameter files, default outputs). */
  runDir: string;
  /** JSON file holding the stage's validated parameters. */
  paramsFile: string;
  dataDir: string;
  settings: Settings;
  host: HostSnapshot;
}

export interface PreflightContext {
  dataDir: string;
  settings: Settings;
  host: HostSnapshot;
  /** The expert override for predicted out-of-memory is in force for this run. */
  allowPredictedOom: boolean;
  /** The whole plan and this stage's place in it (e.g. a merge earlier in the run creates this stage's input). */
  plan: RunPlan;
  stageIndex: number;
  /** What memory decisions are made against, handed in by the engine (stages never reach back for it). */
  memory: PreflightMemory;
}

/** The engine's memory view for preflights: the host's calibration and the host RAM decisions use. */
export interface PreflightMemory {
  calibration(): AppliedCalibration | undefined;
  hostMemory(): Promise<HostMemory>;
}

export interface StageDefinition<K extends StageKind = StageKind> {
  kind: K;
  /** Human name for logs and the UI. */
  title: string;
  /**
   * Runs before the run is created; throws a WorkbenchError to refuse the plan
   * (e.g. a context length predicted to run out of memory).
   */
  preflight?(params: Extract<StagePlan, { kind: K }>['params'], ctx: PreflightContext): Promise<PreflightFinding[]>;
  launch(params: Extract<StagePlan, { kind: K }>['params'], ctx: StageContext): Promise<StageLaunch>;
}

/** Launches a Node stage script with the same Node (or Electron-as-Node) as this process. */
export function nodeLaunch(script: string, ctx: StageContext): StageLaunch {
  return {
    file: process.execPath,
    // The flags first: Node reads its own options before the script's (see wasmEngineFlags.ts for why).
    args: [...WASM_ENGINE_NODE_FLAGS, script, '--params', ctx.paramsFile],
    env: { ELECTRON_RUN_AS_NODE: '1' },
  };
}

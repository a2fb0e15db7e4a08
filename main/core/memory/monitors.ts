/**
 * The stage monitors every engine that runs stages should use (the memory
 * sampler and guard), in one place so the app, serve mode and the CLI agree.
 * The engine passes the calibration its suggestions use (before it has
 * loaded, the priors); this module holds no state of its own.
 *
 * WORKBENCH_SIMULATE_HOST_RAM=16G makes the guard judge every stage as if it
 * ran alone on a host with that much RAM (used = the stage's tree RSS):
 * rehearse a laptop's limits on a big server, and test the guard end to end
 * without depending on the machine's RAM (decisionHost.ts).
 */
import type { StageMonitorFactory } from '../../common/stageMonitor.js';
import { simulatedHostBytes } from './decisionHost.js';
import type { AppliedCalibration } from './estimator.js';
import type { HostOverride } from './guard.js';
import { createMemoryMonitor } from './monitor.js';

export interface MemoryMonitorOptions {
  /** The host's calibration, read when a stage starts (undefined: the priors). */
  calibration?: () => AppliedCalibration | undefined;
  env?: NodeJS.ProcessEnv;
}

export function memoryMonitors(options: MemoryMonitorOptions = {}): StageMonitorFactory[] {
  const simulated = simulatedHostBytes(options.env ?? process.env);
  const hostOverride: HostOverride | null = simulated !== null ? { totalBytes: simulated, baseUsedBytes: 0 } : null;
  return [createMemoryMonitor({ hostOverride, calibration: options.calibration ?? (() => undefined) })];
}

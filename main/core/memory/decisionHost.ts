/**
 * The host every memory decision is made against: the real machine, or the
 * one named by WORKBENCH_SIMULATE_HOST_RAM (docs/memory.md, "Planning for
 * another host"). The estimate command, the wizard's verdicts, the preflight
 * refusal and the guard all read it here, so they never disagree about how
 * much RAM there is.
 */
import { WorkbenchError } from '../../common/errors.js';
import { readHostMemory, type HostMemory } from './sampler.js';

export const SIMULATE_HOST_RAM_ENV = 'WORKBENCH_SIMULATE_HOST_RAM';

/** "16G", "512M", "2.5GiB", "1000000000" → bytes (K/M/G/T are binary, as RAM is). */
export function parseByteSize(text: string, what = SIMULATE_HOST_RAM_ENV): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) throw new WorkbenchError('bad_setting', `${what} must be a size like 16G or 512M, not "${text}".`);
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Number(match[1]) * 1024 ** power;
  if (!(bytes > 0)) throw new WorkbenchError('bad_setting', `${what} must be larger than zero, not "${text}".`);
  return bytes;
}

/** The simulated host's RAM in bytes, or null when decisions use the real machine. */
export function simulatedHostBytes(env: NodeJS.ProcessEnv = process.env): number | null {
  const simulated = env[SIMULATE_HOST_RAM_ENV];
  return simulated ? parseByteSize(simulated) : null;
}

/**
 * The host RAM every memory decision is made against (estimates in the
 * wizard and the CLI, the preflight block, the guard): the real host, or the
 * simulated one (all of it free, as on an idle machine) when
 * WORKBENCH_SIMULATE_HOST_RAM is set.
 */
export async function decisionHostMemory(env: NodeJS.ProcessEnv = process.env): Promise<HostMemory> {
  const bytes = simulatedHostBytes(env);
  if (bytes === null) return readHostMemory();
  return { total: bytes, available: bytes, swapTotal: 0, swapUsed: 0 };
}

/**
 * Samples the host's RAM and swap and a stage's process-tree RSS at a fixed
 * period while the stage runs. One sample at a time (a slow read delays the
 * next tick instead of piling up), and the timer never keeps Node alive.
 */
import { readFile } from 'node:fs/promises';
import si from 'systeminformation';
import type { MemorySample } from '../../common/memory.js';
import { createTreeRssReader } from '../process/treeRss.js';
import type { TreeRssReader } from '../process/treeRss.js';

export interface HostMemory {
  total: number;
  available: number;
  swapTotal: number;
  swapUsed: number;
}

/**
 * The host's memory. "Available" is the kernel's estimate of what can be
 * allocated without swapping (MemAvailable), so used = total − available
 * counts reclaimable page cache as free, as the OOM killer effectively does.
 * Linux reads /proc/meminfo directly (8× cheaper than systeminformation's
 * mem(), which parses the same file plus more, measured by bench/sampler.mjs);
 * other platforms use systeminformation (vm_stat/sysctl on macOS).
 */
export async function readHostMemory(): Promise<HostMemory> {
  if (process.platform === 'linux') {
    const parsed = parseMeminfo(await readFile('/proc/meminfo', 'latin1'));
    if (parsed) return parsed;
  }
  const m = await si.mem();
  return { total: m.total, available: m.available, swapTotal: m.swaptotal, swapUsed: m.swapused };
}

/** MemTotal, MemAvailable, SwapTotal and SwapFree (kB) from /proc/meminfo; null when a field is missing. */
export function parseMeminfo(text: string): HostMemory | null {
  const kb = (key: string): number | null => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  const swapTotal = kb('SwapTotal') ?? 0;
  const swapFree = kb('SwapFree') ?? 0;
  if (total === null || available === null) return null;
  return { total, available, swapTotal, swapUsed: Math.max(0, swapTotal - swapFree) };
}

export interface SamplerOptions {
  pid: number;
  intervalMs: number;
  onSample(sample: MemorySample): void;
  /** Called once per failure streak (e.g. /proc unreadable); sampling continues. */
  onError?(error: unknown): void;
  readHost?: () => Promise<HostMemory>;
  treeReader?: TreeRssReader;
  now?: () => number;
}

export interface Sampler {
  stop(): void;
}

/** Takes one sample now and then every intervalMs until stop(). */
export function startSampler(options: SamplerOptions): Sampler {
  const readHost = options.readHost ?? readHostMemory;
  const tree = options.treeReader ?? createTreeRssReader(options.pid);
  const now = options.now ?? Date.now;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  const tick = async (): Promise<void> => {
    const started = now();
    try {
      const [host, rss] = await Promise.all([readHost(), tree.read()]);
      if (stopped) return;
      failing = false;
      options.onSample({
        t: started,
        sysTotal: host.total,
        sysAvailable: host.available,
        sysUsed: Math.max(0, host.total - host.available),
        swapTotal: host.swapTotal,
        swapUsed: host.swapUsed,
        treeRss: rss.rssBytes,
      });
    } catch (error) {
      if (!failing) options.onError?.(error);
      failing = true;
    }
    if (stopped) return;
    const delay = Math.max(0, options.intervalMs - (now() - started));
    timer = setTimeout(() => void tick(), delay);
    timer.unref();
  };
  void tick();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

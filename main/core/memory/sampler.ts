/**
 * Samples the host's RAM and swap and a stage's process-tree RSS at a fixed
 * period while the stage runs. One sample at a time (a slow read delays the
 * next tick instead of piling up), and the timer never keeps Node alive.
 */
import { readFileSync } from 'node:fs';
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
    // Kernel pseudo-files: synchronous reads never wait on a disk and cost a fifth of the async path.
    const parsed = parseMeminfo(readFileSync('/proc/meminfo', 'latin1'));
    if (parsed) return applyCgroupLimit(parsed, readCgroupMemory());
  }
  // Loaded only here: every CLI call would otherwise pay for it at start-up (Linux never needs it).
  const { default: si } = await import('systeminformation');
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

/** The memory limit and use of the cgroup this process runs in (a container, a systemd slice). */
export interface CgroupMemory {
  limit: number;
  /** Usage minus inactive file cache, which the kernel reclaims before it OOM-kills. */
  used: number;
}

/**
 * In a container the OOM killer acts at the cgroup's limit, not at the host's
 * RAM that /proc/meminfo reports: judge against whichever is tighter.
 */
export function applyCgroupLimit(host: HostMemory, cgroup: CgroupMemory | null): HostMemory {
  if (!cgroup || cgroup.limit >= host.total) return host;
  return { ...host, total: cgroup.limit, available: Math.max(0, Math.min(host.available, cgroup.limit - cgroup.used)) };
}

/** Parses a cgroup's limit, usage and memory.stat (v2: memory.max/current, inactive_file; v1: limit_in_bytes/usage_in_bytes, total_inactive_file). */
export function parseCgroupMemory(limitText: string, usageText: string, statText: string): CgroupMemory | null {
  const limit = Number(limitText.trim());
  const usage = Number(usageText.trim());
  // "max" (v2) or a near-2^63 value (v1) means no limit.
  if (!Number.isFinite(limit) || !Number.isFinite(usage) || limit <= 0 || limit >= 2 ** 60) return null;
  const stat = (key: string): number | null => {
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(statText);
    return match ? Number(match[1]) : null;
  };
  // v1 reports the hierarchy's total separately; v2's inactive_file already includes children.
  const inactive = stat('total_inactive_file') ?? stat('inactive_file') ?? 0;
  return { limit, used: Math.max(0, usage - inactive) };
}

let cgroupFiles: [string, string, string] | null | undefined;

function readCgroupMemory(): CgroupMemory | null {
  if (cgroupFiles === undefined) cgroupFiles = locateCgroupFiles();
  if (!cgroupFiles) return null;
  try {
    const [limit, usage, stat] = cgroupFiles.map((f) => readFileSync(f, 'latin1'));
    return parseCgroupMemory(limit!, usage!, stat!);
  } catch {
    return null;
  }
}

/** The first readable set of limit/usage/stat files: cgroup v2 (namespace root, then our path), then v1. */
function locateCgroupFiles(): [string, string, string] | null {
  let ownPath = '';
  try {
    ownPath = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'latin1'))?.[1] ?? '';
  } catch {
    // No cgroup information: not limited as far as we can tell.
  }
  const candidates: [string, string, string][] = [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current', '/sys/fs/cgroup/memory.stat'],
    ...(ownPath && ownPath !== '/' ? [[`/sys/fs/cgroup${ownPath}/memory.max`, `/sys/fs/cgroup${ownPath}/memory.current`, `/sys/fs/cgroup${ownPath}/memory.stat`] as [string, string, string]] : []),
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes', '/sys/fs/cgroup/memory/memory.stat'],
  ];
  for (const files of candidates) {
    try {
      for (const f of files) readFileSync(f, 'latin1');
      return files;
    } catch {
      // Not this layout.
    }
  }
  return null;
}

/**
 * Turns a run's memory samples into chart columns that stay light over a
 * 40-minute run: the recent window at full resolution, older samples merged
 * into buckets that keep each bucket's maximum (a peak must never vanish from
 * the chart because it was old). Pure, so it is unit-tested in Node.
 */
import type { MemorySample } from '../../../main/common/memory';

export interface MemoryColumns {
  /** Seconds since the first sample. */
  t: number[];
  sysUsed: number[];
  treeRss: number[];
}

export interface DownsampleOptions {
  /** Samples newer than this (ms before the last one) are kept as they are. */
  recentMs: number;
  /** Upper bound on the number of older points. */
  maxOldPoints: number;
}

export const DEFAULT_DOWNSAMPLE: DownsampleOptions = { recentMs: 5 * 60_000, maxOldPoints: 600 };

export function toColumns(samples: readonly MemorySample[], options: DownsampleOptions = DEFAULT_DOWNSAMPLE): MemoryColumns {
  const out: MemoryColumns = { t: [], sysUsed: [], treeRss: [] };
  if (samples.length === 0) return out;
  const t0 = samples[0]!.t;
  const cutoff = samples[samples.length - 1]!.t - options.recentMs;
  let firstRecent = samples.findIndex((s) => s.t >= cutoff);
  if (firstRecent < 0) firstRecent = samples.length;
  const old = samples.slice(0, firstRecent);
  const bucket = Math.max(1, Math.ceil(old.length / Math.max(1, options.maxOldPoints)));
  for (let i = 0; i < old.length; i += bucket) {
    const group = old.slice(i, i + bucket);
    out.t.push((group[group.length - 1]!.t - t0) / 1000);
    out.sysUsed.push(Math.max(...group.map((s) => s.sysUsed)));
    out.treeRss.push(Math.max(...group.map((s) => s.treeRss)));
  }
  for (const s of samples.slice(firstRecent)) {
    out.t.push((s.t - t0) / 1000);
    out.sysUsed.push(s.sysUsed);
    out.treeRss.push(s.treeRss);
  }
  return out;
}

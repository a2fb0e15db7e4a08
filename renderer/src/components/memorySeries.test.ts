import { describe, expect, it } from 'vitest';
import type { MemorySample } from '../../../main/common/memory';
import { toColumns } from './memorySeries';

function samples(n: number, stepMs = 500, peakAt = -1): MemorySample[] {
  return Array.from({ length: n }, (_, i) => ({
    t: 1_000_000 + i * stepMs,
    sysTotal: 16e9,
    sysAvailable: 8e9,
    sysUsed: 8e9 + (i === peakAt ? 5e9 : 0),
    swapTotal: 0,
    swapUsed: 0,
    treeRss: i * 1e6 + (i === peakAt ? 4e9 : 0),
  }));
}

describe('toColumns', () => {
  it('keeps a 40-minute run under a thousand points and never drops a peak', () => {
    const run = samples(4800, 500, 100); // 40 min at 500 ms, a spike early on
    const cols = toColumns(run);
    expect(cols.t.length).toBeLessThan(1300);
    expect(Math.max(...cols.treeRss)).toBe(Math.max(...run.map((s) => s.treeRss)));
    expect(Math.max(...cols.sysUsed)).toBe(13e9);
    // Time stays increasing and ends at the last sample.
    for (let i = 1; i < cols.t.length; i++) expect(cols.t[i]!).toBeGreaterThan(cols.t[i - 1]!);
    expect(cols.t.at(-1)).toBeCloseTo(4799 * 0.5, 6);
  });

  it('keeps the recent window at full resolution and short runs untouched', () => {
    const short = samples(100);
    expect(toColumns(short).t.length).toBe(100);
    const long = samples(4800);
    const cols = toColumns(long);
    // The last five minutes (600 samples at 500 ms, plus the boundary) are all there.
    expect(cols.t.slice(-600)).toEqual(long.slice(-600).map((s) => (s.t - long[0]!.t) / 1000));
    expect(toColumns([]).t).toEqual([]);
  });
});

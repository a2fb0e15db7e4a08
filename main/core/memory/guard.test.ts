import { describe, expect, it } from 'vitest';
import type { MemorySample } from '../../common/memory.js';
import { MemorySettings } from '../../common/settings.js';
import { MemoryGuard, thresholdsFromSettings } from './guard.js';
import type { GuardDecision } from './guard.js';

const GB = 1024 ** 3;
const MiB = 1024 * 1024;

/** A 16 GB host where `used` GB are in use, the stage holding `tree` GB. */
function sample(used: number, tree = used / 2, swapUsed = 0): MemorySample {
  return { t: 0, sysTotal: 16 * GB, sysUsed: used * GB, sysAvailable: (16 - used) * GB, swapTotal: 8 * GB, swapUsed: swapUsed * GB, treeRss: tree * GB };
}

function run(guard: MemoryGuard, samples: MemorySample[]): GuardDecision[] {
  return samples.map((s) => guard.observe(s));
}

const defaults = thresholdsFromSettings(MemorySettings.parse({}));

describe('MemoryGuard', () => {
  it('stops only after N consecutive samples over the stop level', () => {
    const guard = new MemoryGuard({ ...defaults, minAvailableBytes: 0 });
    // 90 % of 16 GB = 14.4 GB. A single spike, then a sustained excursion.
    const decisions = run(guard, [sample(10), sample(14.6), sample(12), sample(14.5), sample(14.7), sample(15)]);
    expect(decisions.map((d) => d.stop !== null)).toEqual([false, false, false, false, false, true]);
    const stop = decisions[5]!.stop!;
    expect(stop.reasons).toEqual(['used_fraction']);
    expect(stop.figures.peakTreeRss).toBe(7.5 * GB);
    expect(stop.figures.availableBytes).toBeCloseTo(1 * GB, -3);
    expect(stop.message).toMatch(/94% of 16\.0 GiB \(stop level 90%\)/);
    expect(stop.message).toMatch(/7\.5 GiB at peak/);
  });

  it('stops once, then stays quiet', () => {
    const guard = new MemoryGuard({ ...defaults, consecutiveSamples: 1 });
    const decisions = run(guard, [sample(15), sample(15), sample(15.5)]);
    expect(decisions.filter((d) => d.stop).length).toBe(1);
    expect(guard.hasStopped).toBe(true);
  });

  it('stops when available RAM stays under the floor even below the stop level', () => {
    const guard = new MemoryGuard({ ...defaults, stopUsedFraction: 0.99, minAvailableBytes: 2 * GB, consecutiveSamples: 2 });
    const decisions = run(guard, [sample(13), sample(14.2), sample(14.3)]);
    expect(decisions[2]!.stop?.reasons).toEqual(['available_floor']);
  });

  it('counts swap growth as pressure only while RAM in use is above the warn level', () => {
    const guard = new MemoryGuard({ ...defaults, swapGrowthBytes: 1024 * MiB, consecutiveSamples: 2 });
    // Swap grows by 2 GB while RAM is at 50 %: someone else is swapping, not a reason to stop us.
    expect(run(guard, [sample(8, 4, 0), sample(8, 4, 2), sample(8, 4, 2)]).some((d) => d.stop)).toBe(false);
    // Same growth at 80 % in use: the stage is pushing the host into swap.
    const decisions = run(guard, [sample(13, 6, 2), sample(13, 6, 2.5)]);
    expect(decisions[1]!.stop?.reasons).toEqual(['swap_growth']);
  });

  it('warns once per crossing of the warn level, re-armed below it', () => {
    const guard = new MemoryGuard(defaults);
    const warns = run(guard, [sample(10), sample(12.5), sample(13), sample(11.5), sample(12.2)]).map((d) => d.warn !== null);
    expect(warns).toEqual([false, true, false, false, true]);
  });

  it('honours a tree RSS limit', () => {
    const guard = new MemoryGuard({ ...defaults, treeRssLimitBytes: 3 * GB, consecutiveSamples: 2 });
    const decisions = run(guard, [sample(6, 2.9), sample(6, 3.1), sample(6, 3.2)]);
    expect(decisions[2]!.stop?.reasons).toEqual(['tree_rss_limit']);
  });

  it('judges a simulated host when given an override, independent of this machine', () => {
    // Pretend 1 GB host with 300 MB used by others: stop when the tree passes 600 MB (90 %).
    const guard = new MemoryGuard({ ...defaults, minAvailableBytes: 0, consecutiveSamples: 2 }, { totalBytes: 1 * GB, baseUsedBytes: 0.3 * GB });
    const real = (tree: number): MemorySample => ({ t: 0, sysTotal: 512 * GB, sysUsed: 10 * GB, sysAvailable: 502 * GB, swapTotal: 0, swapUsed: 0, treeRss: tree * GB });
    const decisions = run(guard, [real(0.4), real(0.55), real(0.61), real(0.62)]);
    expect(decisions.map((d) => d.stop !== null)).toEqual([false, false, false, true]);
    expect(decisions[3]!.stop!.figures.totalBytes).toBe(1 * GB);
  });

  it('takes its thresholds from the settings', () => {
    const t = thresholdsFromSettings(MemorySettings.parse({ warnUsedFraction: 0.95, stopUsedFraction: 0.8, minAvailableMiB: 512, consecutiveSamples: 5 }));
    // A warn level above the stop level would never warn before stopping.
    expect(t.warnUsedFraction).toBe(0.8);
    expect(t.minAvailableBytes).toBe(512 * MiB);
    expect(t.consecutiveSamples).toBe(5);
  });
});

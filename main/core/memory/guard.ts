/**
 * The memory guard's rules as a pure state machine over samples, so the
 * decision can be tested with scripted samples and explained with figures.
 * It only decides; the monitor asks the runner to stop the stage's tree.
 *
 * Rules (docs/memory.md § Guard):
 *  - warn once each time RAM in use crosses the warn level (re-armed 2 points below it);
 *  - stop when, for N consecutive samples, RAM in use ≥ the stop level, or
 *    available RAM < the floor, or swap grew by ≥ the swap limit since the
 *    stage started while RAM in use is at or above the warn level (swapping
 *    under pressure is the freeze the guard exists to prevent), or the stage's
 *    tree RSS ≥ an explicit per-stage limit.
 */
import { formatBytes } from '../../common/format.js';
import type { MemorySample } from '../../common/memory.js';
import type { MemorySettings } from '../../common/settings.js';

const MiB = 1024 * 1024;

export interface GuardThresholds {
  warnUsedFraction: number;
  stopUsedFraction: number;
  /** 0 disables the floor. */
  minAvailableBytes: number;
  /** 0 disables the swap rule. */
  swapGrowthBytes: number;
  consecutiveSamples: number;
  /** Stop when the stage's tree RSS reaches this; null = no per-stage limit. */
  treeRssLimitBytes: number | null;
}

/**
 * Pretend the host has this much RAM, of which baseUsedBytes is used by
 * others, and the rest by the stage: used = baseUsed + tree RSS. Lets tests
 * (and a user who wants to cap a stage on a shared server) exercise the real
 * rules without depending on this machine's RAM.
 */
export interface HostOverride {
  totalBytes: number;
  baseUsedBytes: number;
}

export function thresholdsFromSettings(settings: MemorySettings, treeRssLimitBytes: number | null = null): GuardThresholds {
  return {
    warnUsedFraction: Math.min(settings.warnUsedFraction, settings.stopUsedFraction),
    stopUsedFraction: settings.stopUsedFraction,
    minAvailableBytes: settings.minAvailableMiB * MiB,
    swapGrowthBytes: settings.swapGrowthMiB * MiB,
    consecutiveSamples: settings.consecutiveSamples,
    treeRssLimitBytes,
  };
}

/** The sample as the guard judges it (with a host override applied). */
export function effectiveSample(sample: MemorySample, override: HostOverride | null): MemorySample {
  if (!override) return sample;
  const used = Math.min(override.totalBytes, override.baseUsedBytes + sample.treeRss);
  return { ...sample, sysTotal: override.totalBytes, sysUsed: used, sysAvailable: override.totalBytes - used };
}

export type StopReason = 'used_fraction' | 'available_floor' | 'swap_growth' | 'tree_rss_limit';

export interface GuardFigures {
  /** Largest tree RSS seen so far. */
  peakTreeRss: number;
  /** Tree RSS at the deciding sample. */
  treeRss: number;
  usedFraction: number;
  availableBytes: number;
  totalBytes: number;
  swapGrowthBytes: number;
  /** Lowest available RAM seen so far. */
  minAvailableBytes: number;
}

export interface GuardStop {
  reasons: StopReason[];
  figures: GuardFigures;
  /** One human sentence with the figures. */
  message: string;
}

export interface GuardDecision {
  /** Set on the sample where RAM in use crossed the warn level. */
  warn: string | null;
  /** Set once, on the sample that completes N consecutive samples over a stop threshold. */
  stop: GuardStop | null;
  /** How many consecutive samples the stop condition has held. */
  streak: number;
}

export class MemoryGuard {
  private streak = 0;
  private warned = false;
  private stopped = false;
  private swapAtStart: number | null = null;
  private peakTreeRss = 0;
  private minAvailable = Number.POSITIVE_INFINITY;

  constructor(
    readonly thresholds: GuardThresholds,
    private readonly override: HostOverride | null = null,
  ) {}

  get hasStopped(): boolean {
    return this.stopped;
  }

  get peak(): number {
    return this.peakTreeRss;
  }

  observe(raw: MemorySample): GuardDecision {
    const s = effectiveSample(raw, this.override);
    const t = this.thresholds;
    if (this.swapAtStart === null) this.swapAtStart = s.swapUsed;
    this.peakTreeRss = Math.max(this.peakTreeRss, s.treeRss);
    this.minAvailable = Math.min(this.minAvailable, s.sysAvailable);
    const usedFraction = s.sysTotal > 0 ? s.sysUsed / s.sysTotal : 0;
    const swapGrowth = Math.max(0, s.swapUsed - this.swapAtStart);

    let warn: string | null = null;
    if (usedFraction >= t.warnUsedFraction && !this.warned) {
      this.warned = true;
      warn = `RAM in use reached ${pct(usedFraction)} of ${gb(s.sysTotal)} (warn level ${pct(t.warnUsedFraction)}); this stage's processes hold ${gb(s.treeRss)}.`;
    } else if (usedFraction < t.warnUsedFraction - 0.02) {
      this.warned = false;
    }

    const reasons: StopReason[] = [];
    if (usedFraction >= t.stopUsedFraction) reasons.push('used_fraction');
    if (t.minAvailableBytes > 0 && s.sysAvailable < t.minAvailableBytes) reasons.push('available_floor');
    if (t.swapGrowthBytes > 0 && swapGrowth >= t.swapGrowthBytes && usedFraction >= t.warnUsedFraction) reasons.push('swap_growth');
    if (t.treeRssLimitBytes !== null && s.treeRss >= t.treeRssLimitBytes) reasons.push('tree_rss_limit');
    this.streak = reasons.length > 0 ? this.streak + 1 : 0;

    let stop: GuardStop | null = null;
    if (!this.stopped && this.streak >= t.consecutiveSamples) {
      this.stopped = true;
      const figures: GuardFigures = {
        peakTreeRss: this.peakTreeRss,
        treeRss: s.treeRss,
        usedFraction,
        availableBytes: s.sysAvailable,
        totalBytes: s.sysTotal,
        swapGrowthBytes: swapGrowth,
        minAvailableBytes: this.minAvailable,
      };
      stop = { reasons, figures, message: stopMessage(reasons, figures, t) };
    }
    return { warn, stop, streak: this.streak };
  }
}

function stopMessage(reasons: StopReason[], f: GuardFigures, t: GuardThresholds): string {
  const why = reasons.map((r) => {
    switch (r) {
      case 'used_fraction':
        return `RAM in use stayed at ${pct(f.usedFraction)} of ${gb(f.totalBytes)} (stop level ${pct(t.stopUsedFraction)})`;
      case 'available_floor':
        return `available RAM fell to ${gb(f.availableBytes)} (floor ${gb(t.minAvailableBytes)})`;
      case 'swap_growth':
        return `swap grew by ${gb(f.swapGrowthBytes)} under memory pressure (limit ${gb(t.swapGrowthBytes)})`;
      case 'tree_rss_limit':
        return `the stage's processes reached ${gb(f.treeRss)} (limit ${gb(t.treeRssLimitBytes ?? 0)})`;
    }
  });
  return `Stopped by the memory guard: ${why.join(' and ')} for ${t.consecutiveSamples} consecutive samples; the stage's processes held ${gb(f.peakTreeRss)} at peak and ${gb(f.availableBytes)} was still available.`;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** Binary units, like every other figure on the run page. */
function gb(bytes: number): string {
  return formatBytes(bytes);
}

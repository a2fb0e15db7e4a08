/**
 * The memory capability's plug into the stage runner: for every running
 * stage, sample RAM and the stage's tree RSS, store/stream each sample, warn
 * when RAM in use crosses the warn level, and ask the runner to stop the
 * stage's tree when the guard's stop rule holds — with the figures and, for
 * a conversion, what would fit instead. It never kills anything itself.
 */
import type { HfModelConfig } from '../../common/formats.js';
import type { MemorySample } from '../../common/memory.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { createTreeRssReader } from '../process/treeRss.js';
import type { TreeRssReader } from '../process/treeRss.js';
import type { StageMonitor, StageMonitorContext, StageMonitorFactory } from '../../common/stageMonitor.js';
import type { AppliedCalibration, ModelFacts } from './estimator.js';
import { estimateConversion, modelFactsFromConfig } from './estimator.js';
import { MemoryGuard, effectiveSample, thresholdsFromSettings } from './guard.js';
import type { GuardStop, HostOverride } from './guard.js';
import { startSampler } from './sampler.js';
import type { HostMemory } from './sampler.js';
import { conversionOptions, suggestAlternatives } from './suggestions.js';

export interface MemoryMonitorDeps {
  /** Host RAM reader (default: systeminformation). */
  readHost?: () => Promise<HostMemory>;
  createTreeReader?: (pid: number) => TreeRssReader;
  /** Judge against a simulated host instead of this machine's RAM (tests, capped stages). */
  hostOverride?: HostOverride | null;
  /** Stop a stage whose tree RSS reaches this many bytes. */
  treeRssLimitBytes?: number | null;
  /** Calibrated coefficients for the suggestions' estimates. */
  calibration?: () => AppliedCalibration | undefined;
  /** config.json of a model folder (default: the HF folder reader). */
  readModelConfig?: (dir: string) => Promise<HfModelConfig | null>;
}

export function createMemoryMonitor(deps: MemoryMonitorDeps = {}): StageMonitorFactory {
  return (ctx) => new MemoryMonitor(ctx, deps);
}

class MemoryMonitor implements StageMonitor {
  private readonly guard: MemoryGuard;
  private readonly sampler: { stop(): void };
  private facts: ModelFacts | null = null;
  private firstSample: MemorySample | null = null;
  private disposed = false;

  constructor(
    private readonly ctx: StageMonitorContext,
    private readonly deps: MemoryMonitorDeps,
  ) {
    const memory = ctx.settings.memory;
    // Samples reach the guard with the host override already applied (onSample).
    this.guard = new MemoryGuard(thresholdsFromSettings(memory, deps.treeRssLimitBytes ?? null));
    if (ctx.stage.kind === 'convert') void this.loadFacts(ctx.stage.params.modelDir);
    this.sampler = startSampler({
      pid: ctx.pid,
      intervalMs: memory.sampleIntervalMs,
      onSample: (s) => this.onSample(s),
      onError: (error) => ctx.log('warn', `Memory sampling failed: ${(error as Error).message ?? String(error)}; the guard is blind until it recovers.`),
      ...(deps.readHost ? { readHost: deps.readHost } : {}),
      treeReader: (deps.createTreeReader ?? createTreeRssReader)(ctx.pid),
    });
  }

  dispose(): void {
    this.disposed = true;
    this.sampler.stop();
  }

  private async loadFacts(modelDir: string): Promise<void> {
    try {
      const config = this.deps.readModelConfig ? await this.deps.readModelConfig(modelDir) : (await readHfFolder(modelDir)).config;
      const facts = modelFactsFromConfig(config);
      if (!('ok' in facts)) this.facts = facts;
    } catch {
      // Without a readable config the guard still acts on the figures; suggestions are omitted.
    }
  }

  private onSample(raw: MemorySample): void {
    if (this.disposed) return;
    // Under a simulated host, store what the guard judges, so the chart shows the figures it acted on.
    const sample = effectiveSample(raw, this.deps.hostOverride ?? null);
    this.firstSample ??= sample;
    this.ctx.recordSample(sample);
    const decision = this.guard.observe(sample);
    if (decision.warn) this.ctx.log('warn', decision.warn);
    if (decision.stop) {
      // The runner writes the stop line to the log when it stops the stage: written here too, it appeared twice.
      this.ctx.stop({ status: 'stopped_by_guard', message: decision.stop.message, details: this.details(decision.stop, sample) });
    }
  }

  private details(stop: GuardStop, sample: MemorySample): Record<string, unknown> {
    const t = this.guard.thresholds;
    const details: Record<string, unknown> = {
      reasons: stop.reasons,
      peakTreeRssBytes: stop.figures.peakTreeRss,
      treeRssBytes: stop.figures.treeRss,
      usedFraction: stop.figures.usedFraction,
      availableBytes: stop.figures.availableBytes,
      minAvailableBytes: stop.figures.minAvailableBytes,
      totalBytes: stop.figures.totalBytes,
      swapGrowthBytes: stop.figures.swapGrowthBytes,
      thresholds: {
        warnUsedFraction: t.warnUsedFraction,
        stopUsedFraction: t.stopUsedFraction,
        minAvailableBytes: t.minAvailableBytes,
        swapGrowthBytes: t.swapGrowthBytes,
        consecutiveSamples: t.consecutiveSamples,
        treeRssLimitBytes: t.treeRssLimitBytes,
      },
      simulatedHost: this.deps.hostOverride ?? null,
    };
    const stage = this.ctx.stage;
    if (stage.kind === 'convert' && this.facts) {
      const options = conversionOptions(stage.params);
      const calibration = this.deps.calibration?.();
      const current = estimateConversion(this.facts, options, calibration);
      if (current.ok) details.estimate = { peakBytes: current.peakBytes, durationSec: current.durationSec, peakPhase: current.peakPhase };
      // What a fresh attempt could use: what was available when this stage started, plus what it held then.
      const start = this.firstSample ?? sample;
      const host = { totalBytes: stop.figures.totalBytes, availableBytes: start.sysAvailable + start.treeRss };
      details.suggestions = suggestAlternatives(this.facts, options, host, calibration, t.stopUsedFraction);
    }
    return details;
  }
}

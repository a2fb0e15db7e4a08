import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HfModelConfig } from '../../common/formats.js';
import type { CalibrationPoint } from '../../common/memoryEstimate.js';
import { ConvertParams } from '../../common/stages/convert.js';
import { History } from '../history/history.js';
import { CalibrationService, calibrationPoint, fitCalibration, settingsCalibrationStore } from './calibration.js';
import { QWEN25_1_5B_CONFIG } from '../../../test/support/modelConfigs.js';
import { estimateConversion, modelFactsFromConfig } from './estimator.js';

const base: HfModelConfig = QWEN25_1_5B_CONFIG;
const small: HfModelConfig = { ...base, hiddenSize: 896, numHiddenLayers: 24, numAttentionHeads: 14, intermediateSize: 4864 };
const large: HfModelConfig = { ...base, hiddenSize: 2048, numHiddenLayers: 36, numAttentionHeads: 16, intermediateSize: 11008 };

/** Deterministic pseudo-noise in [-amp, amp]. */
function noise(i: number, amp: number): number {
  return (((i * 7919) % 101) / 100 - 0.5) * 2 * amp;
}

/** Synthetic history of a host whose converter holds 30 % more weight copies and twice the mask copies. */
function history(n: number, truth = { weights: 1.3, context: 2, fixed: 1 }): CalibrationPoint[] {
  const points: CalibrationPoint[] = [];
  const configs = [small, base, large];
  const contexts = [1024, 2048, 4096, 8192];
  for (let i = 0; i < n; i++) {
    const config = configs[i % 3]!;
    const kv = contexts[i % 4]!;
    const params = ConvertParams.parse({ modelDir: '/m', outDir: '/o', kvCacheMaxLen: kv });
    const p = calibrationPoint({ runId: i + 1, stageId: i + 1, at: i, params, config, peakBytes: 1, durationSec: 1, status: 'succeeded' })!;
    const truePeak = p.groups.weights * truth.weights + p.groups.context * truth.context + p.groups.fixed * truth.fixed;
    points.push({ ...p, peakBytes: truePeak * (1 + noise(i, 0.03)), durationSec: p.priorDurationSec * 1.5 * (1 + noise(i + 3, 0.05)) });
  }
  return points;
}

describe('fitCalibration', () => {
  it('returns the priors with no history', () => {
    const fit = fitCalibration([]);
    expect(fit.scales).toEqual({ weights: 1, context: 1, fixed: 1, duration: 1 });
    expect(fit.runs).toBe(0);
    expect(fit.band).toBeNull();
  });

  it('moves the fit toward the measurements', () => {
    const points = history(24);
    const fit = fitCalibration(points);
    expect(fit.scales.weights).toBeGreaterThan(1.2);
    expect(fit.scales.weights).toBeLessThan(1.4);
    expect(fit.scales.duration).toBeGreaterThan(1.35);
    expect(fit.scales.duration).toBeLessThan(1.6);
    expect(fit.calibratedError).toBeLessThan(fit.priorError / 3);
    expect(fit.runs).toBe(24);
    // Low noise → a band narrower than the prior one.
    expect(fit.band!.high).toBeLessThan(1.3);
  });

  it('is not wrecked by outliers', () => {
    const points = history(20);
    // Two runs where something else inflated the tree (5× the truth), one nearly empty reading.
    points[3] = { ...points[3]!, peakBytes: points[3]!.peakBytes * 5 };
    points[11] = { ...points[11]!, peakBytes: points[11]!.peakBytes * 5 };
    points[15] = { ...points[15]!, peakBytes: points[15]!.peakBytes * 0.1 };
    const fit = fitCalibration(points);
    expect(fit.scales.weights).toBeGreaterThan(1.15);
    expect(fit.scales.weights).toBeLessThan(1.5);
  });

  it('stays within bounds whatever the data', () => {
    const points = history(6).map((p) => ({ ...p, peakBytes: p.peakBytes * 100, durationSec: p.durationSec * 100 }));
    const fit = fitCalibration(points);
    expect(fit.scales.weights).toBeLessThanOrEqual(2.5 + 1e-9);
    expect(fit.scales.context).toBeLessThanOrEqual(4 + 1e-9);
    expect(fit.scales.fixed).toBeLessThanOrEqual(3 + 1e-9);
    expect(fit.scales.duration).toBeLessThanOrEqual(4 + 1e-9);
    expect(Object.values(fit.scales).every(Number.isFinite)).toBe(true);
  });

  it('lets censored (guard-stopped) points push the fit up, never down', () => {
    const [p] = history(1, { weights: 1, context: 1, fixed: 1 });
    const predicted = p!.groups.weights + p!.groups.context + p!.groups.fixed;
    // "Exceeded half the prediction": consistent with the priors, nothing to learn.
    const below = fitCalibration([{ ...p!, censored: true, peakBytes: predicted * 0.5 }]);
    expect(below.scales.weights).toBeCloseTo(1, 6);
    expect(below.censoredRuns).toBe(1);
    // "Exceeded 1.5× the prediction": the priors were too low.
    const above = fitCalibration([{ ...p!, censored: true, peakBytes: predicted * 1.5 }]);
    expect(above.scales.weights).toBeGreaterThan(1.2);
  });
});

describe('CalibrationService with the history database', () => {
  it('persists points, applies them to estimates, and resets', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-calib-'));
    try {
      const db = new History(path.join(dir, 'history.sqlite'));
      const service = new CalibrationService(settingsCalibrationStore(db));
      await service.load();
      expect(service.applied()).toBeUndefined();
      for (const point of history(9)) await service.record(point);
      // Recording the same stage again replaces its point.
      await service.record(history(9)[8]!);
      expect(service.current().runs).toBe(9);

      const reloaded = new CalibrationService(settingsCalibrationStore(db));
      await reloaded.load();
      expect(reloaded.current().scales).toEqual(service.current().scales);

      const facts = modelFactsFromConfig(base);
      const options = { kvCacheMaxLen: 4096, prefillSeqLens: [8, 64, 128, 256, 512, 1024], quantize: 'dynamic_int8' as const, route: 'example' as const, lightweightConversion: false, maskAsInput: false };
      const prior = estimateConversion(facts, options);
      const calibrated = estimateConversion(facts, options, reloaded.applied());
      if (!prior.ok || !calibrated.ok) throw new Error('no estimate');
      expect(calibrated.calibration).toEqual({ calibrated: true, runs: 9 });
      expect(calibrated.peakBytes.expected / prior.peakBytes.expected).toBeGreaterThan(1.2);

      await reloaded.reset();
      expect(reloaded.applied()).toBeUndefined();
      const afterReset = new CalibrationService(settingsCalibrationStore(db));
      await afterReset.load();
      expect(afterReset.current().runs).toBe(0);

      // A corrupt stored value falls back to the priors instead of failing.
      db.setSetting('memory.calibration', { version: 99, points: 'nonsense' });
      const corrupt = new CalibrationService(settingsCalibrationStore(db));
      await corrupt.load();
      expect(corrupt.current().runs).toBe(0);
      db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes no point for an unknown architecture', () => {
    const params = ConvertParams.parse({ modelDir: '/m', outDir: '/o' });
    expect(calibrationPoint({ runId: 1, stageId: 1, at: 0, params, config: { ...base, architectures: ['MambaForCausalLM'], modelType: 'mamba' }, peakBytes: 1e9, durationSec: 10, status: 'succeeded' })).toBeNull();
  });
});

describe('calibration and the native route', () => {
  it('takes no point from a native conversion, and native estimates ignore the Python-fitted scales', () => {
    const native = ConvertParams.parse({ modelDir: '/m', outDir: '/o', route: 'native', kvCacheMaxLen: 4096 });
    expect(calibrationPoint({ runId: 1, stageId: 1, at: 0, params: native, config: base, peakBytes: 150 * 2 ** 20, durationSec: 40, status: 'succeeded' })).toBeNull();
    const facts = modelFactsFromConfig(base);
    const options = { kvCacheMaxLen: 4096, prefillSeqLens: [8, 64, 128, 256, 512, 1024], quantize: 'dynamic_int8' as const, route: 'native' as const, lightweightConversion: false, maskAsInput: false };
    const calibrated = { scales: { weights: 3, context: 3, fixed: 3, duration: 3 }, band: null, runs: 5 };
    const withScales = estimateConversion(facts, options, calibrated);
    const prior = estimateConversion(facts, options);
    expect(withScales.ok && prior.ok && withScales.peakBytes.expected).toBe(prior.ok ? prior.peakBytes.expected : null);
    expect(withScales.ok && withScales.calibration.calibrated).toBe(false);
    // Under 1 GiB whatever the context: the native route's conversion peak.
    expect(prior.ok && prior.peakBytes.high).toBeLessThan(2 ** 30);
  });
});

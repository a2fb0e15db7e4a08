/**
 * The memory check a conversion runs before it starts: refuse a plan whose
 * predicted peak does not fit this host (WorkbenchError `predicted_oom`,
 * which the CLI maps to its "refused" exit code and the UI shows with the
 * largest safe context), unless the expert override is in force, in which case
 * the prediction and the override are recorded with the run. The same
 * function serves the app, serve mode and the CLI, so they behave alike; the
 * refusal names "the expert override" without saying where it is, because
 * that differs (Settings or the wizard's checkbox in the UI,
 * `--allow-predicted-oom` in the CLI, which adds it as a hint).
 */
import { WorkbenchError } from '../../common/errors.js';
import type { ConvertParams } from '../../common/stages/convert.js';
import { readHfFolder } from '../formats/hfFolder.js';
import type { PreflightFinding } from '../../common/preflight.js';
import type { AppliedCalibration } from './estimator.js';
import { classifyFit, estimateConversion, formatBytes, largestSafeContext, modelFactsFromConfig } from './estimator.js';
import type { HostMemory } from './sampler.js';
import { readHostMemory } from './sampler.js';
import { conversionOptions, suggestAlternatives } from './suggestions.js';

export interface MemoryPreflightContext {
  allowPredictedOom: boolean;
  stopUsedFraction: number;
  calibration?: AppliedCalibration;
  /** Where config.json is when modelDir does not exist yet (a merge earlier in the run creates it). */
  configDir?: string;
  /** Host RAM (default: this machine now). */
  host?: HostMemory;
}

export async function conversionMemoryPreflight(params: ConvertParams, ctx: MemoryPreflightContext): Promise<PreflightFinding[]> {
  const dir = ctx.configDir ?? params.modelDir;
  let config;
  try {
    config = (await readHfFolder(dir)).config;
  } catch (error) {
    return [{ level: 'info', message: `No memory estimate: ${dir} cannot be read yet (${(error as Error).message}); the memory guard will watch the run.` }];
  }
  const facts = modelFactsFromConfig(config);
  const options = conversionOptions(params);
  const estimate = estimateConversion(facts, options, ctx.calibration);
  if (!estimate.ok) return [{ level: 'info', message: `No memory estimate: ${estimate.reason}`, details: { memoryEstimate: estimate } }];

  const host = ctx.host ?? (await readHostMemory());
  const verdict = classifyFit(estimate, host.total, host.available, ctx.stopUsedFraction);
  const details = {
    memoryEstimate: { peakBytes: estimate.peakBytes, durationSec: estimate.durationSec, peakPhase: estimate.peakPhase, calibration: estimate.calibration },
    memoryVerdict: verdict,
    host: { totalBytes: host.total, availableBytes: host.available },
  };
  const peak = `${formatBytes(estimate.peakBytes.expected)} (up to ${formatBytes(estimate.peakBytes.high)})`;

  if (verdict.fit === 'blocked') {
    const { kvCacheMaxLen: _kv, ...rest } = options;
    const safe = 'ok' in facts ? null : largestSafeContext(facts, rest, host.total, host.available, { allowTight: true, calibration: ctx.calibration, stopUsedFraction: ctx.stopUsedFraction });
    if (!ctx.allowPredictedOom) {
      const suggestions = 'ok' in facts ? [] : suggestAlternatives(facts, options, { totalBytes: host.total, availableBytes: host.available }, ctx.calibration, ctx.stopUsedFraction);
      throw new WorkbenchError(
        'predicted_oom',
        `Converting with a context of ${params.kvCacheMaxLen} is predicted to need ${peak}, more than the ${formatBytes(verdict.budgetBytes)} this host can give it; ${
          safe !== null ? `the largest context predicted to fit is ${safe}` : 'no context length is predicted to fit'
        } (the expert override allows it anyway).`,
        { ...details, largestSafeContext: safe, suggestions },
      );
    }
    return [
      {
        level: 'warn',
        message: `Started under the expert override: the conversion is predicted to need ${peak}, more than the ${formatBytes(verdict.budgetBytes)} available to it; the memory guard will stop it before the system runs out.`,
        details: { ...details, largestSafeContext: safe, override: true },
      },
    ];
  }
  if (verdict.fit === 'tight') return [{ level: 'warn', message: `Tight fit: ${verdict.reason}`, details }];
  return [{ level: 'info', message: `Predicted peak RAM ${peak}, about ${Math.round(estimate.durationSec.expected / 60)} min: ${verdict.fit} this host.`, details }];
}

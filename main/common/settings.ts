/**
 * User settings, stored in the history database and edited on the Settings
 * page. Every field has a default so an empty store is a valid configuration.
 */
import { z } from 'zod';

export const MemorySettings = z.object({
  /** Warn when system RAM in use exceeds this fraction of total. */
  warnUsedFraction: z.number().min(0.1).max(1).default(0.75),
  /** Stop the stage when RAM in use stays above this fraction of total. */
  stopUsedFraction: z.number().min(0.1).max(1).default(0.9),
  /** ...or when available RAM stays below this floor (MiB). */
  minAvailableMiB: z.number().int().min(0).default(1024),
  /** Swap growth since the stage started that counts as pressure (MiB). */
  swapGrowthMiB: z.number().int().min(0).default(1024),
  /** How many consecutive samples over the stop threshold before acting. */
  consecutiveSamples: z.number().int().min(1).max(100).default(3),
  /** Sampling period while a stage runs (ms). */
  sampleIntervalMs: z.number().int().min(100).max(10_000).default(500),
});
export type MemorySettings = z.infer<typeof MemorySettings>;

export const Settings = z.object({
  memory: MemorySettings.default(MemorySettings.parse({})),
  /**
   * Expert override: allow starting a conversion whose predicted peak RAM
   * exceeds this host. Each run started under it records the override.
   */
  allowPredictedOom: z.boolean().default(false),
  /** Python interpreter for stages; null = the bootstrapped environment. */
  pythonPath: z.string().min(1).nullable().default(null),
});
export type Settings = z.infer<typeof Settings>;
export const SettingsPatch = Settings.partial().extend({ memory: MemorySettings.partial().optional() });
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const DEFAULT_SETTINGS: Settings = Settings.parse({});

export interface SettingsProblem {
  /** Settings.memory field (or top-level field) the problem is about. */
  field: keyof MemorySettings | 'pythonPath';
  message: string;
}

/**
 * What is wrong with settings, in the units the Settings page shows
 * (percent, MiB, ms). The page disables Save while any remain; the engine
 * refuses an update that has one, so the CLI and API get the same sentences.
 */
export function settingsProblems(settings: Settings): SettingsProblem[] {
  const m = settings.memory;
  const problems: SettingsProblem[] = [];
  const percent = (fraction: number) => Math.round(fraction * 100);
  const between = (value: number, lo: number, hi: number) => Number.isFinite(value) && value >= lo && value <= hi;
  if (!between(m.warnUsedFraction, 0.1, 1)) problems.push({ field: 'warnUsedFraction', message: 'The warn level must be between 10 % and 100 % of RAM in use.' });
  if (!between(m.stopUsedFraction, 0.1, 1)) problems.push({ field: 'stopUsedFraction', message: 'The stop level must be between 10 % and 100 % of RAM in use.' });
  if (problems.length === 0 && m.warnUsedFraction >= m.stopUsedFraction) {
    problems.push({
      field: 'warnUsedFraction',
      message: `The warn level (${percent(m.warnUsedFraction)} %) must be below the stop level (${percent(m.stopUsedFraction)} %), or the stage is stopped without a warning first.`,
    });
  }
  if (!Number.isInteger(m.minAvailableMiB) || m.minAvailableMiB < 0) problems.push({ field: 'minAvailableMiB', message: 'The available-RAM floor must be a whole number of MiB, 0 or more.' });
  if (!Number.isInteger(m.swapGrowthMiB) || m.swapGrowthMiB < 0) problems.push({ field: 'swapGrowthMiB', message: 'The swap growth must be a whole number of MiB, 0 or more.' });
  if (!Number.isInteger(m.consecutiveSamples) || !between(m.consecutiveSamples, 1, 100)) problems.push({ field: 'consecutiveSamples', message: 'Consecutive samples must be a whole number from 1 to 100.' });
  if (!Number.isInteger(m.sampleIntervalMs) || !between(m.sampleIntervalMs, 100, 10_000)) problems.push({ field: 'sampleIntervalMs', message: 'The sampling period must be a whole number of milliseconds from 100 to 10,000.' });
  return problems;
}

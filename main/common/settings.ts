/**
 * User settings, stored in the history database and edited on the Settings
 * page. Every field has a default so an empty store is a valid configuration.
 */
import { z } from 'zod';

/** The guard's available-RAM floor unless the settings say otherwise; the preflight budget keeps it free too. */
export const DEFAULT_MIN_AVAILABLE_MIB = 1024;

export const MemorySettings = z.object({
  /** Warn when system RAM in use exceeds this fraction of total. */
  warnUsedFraction: z.number().min(0.1).max(1).default(0.75),
  /** Stop the stage when RAM in use stays above this fraction of total. */
  stopUsedFraction: z.number().min(0.1).max(1).default(0.9),
  /** ...or when available RAM stays below this floor (MiB). */
  minAvailableMiB: z.number().int().min(0).default(DEFAULT_MIN_AVAILABLE_MIB),
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
  // The bounds are the schema's own (MemorySettings); only the sentences are written here.
  const fits = (field: keyof MemorySettings) => MemorySettings.shape[field].safeParse(m[field]).success;
  const bound = (field: keyof MemorySettings, which: 'minValue' | 'maxValue') => MemorySettings.shape[field].unwrap()[which] ?? 0;
  const percent = (fraction: number) => Math.round(fraction * 100);
  const whole = (value: number) => value.toLocaleString('en-US');
  const levelRange = (field: 'warnUsedFraction' | 'stopUsedFraction') => `between ${percent(bound(field, 'minValue'))} % and ${percent(bound(field, 'maxValue'))} % of RAM in use`;
  if (!fits('warnUsedFraction')) problems.push({ field: 'warnUsedFraction', message: `The warn level must be ${levelRange('warnUsedFraction')}.` });
  if (!fits('stopUsedFraction')) problems.push({ field: 'stopUsedFraction', message: `The stop level must be ${levelRange('stopUsedFraction')}.` });
  if (problems.length === 0 && m.warnUsedFraction >= m.stopUsedFraction) {
    problems.push({
      field: 'warnUsedFraction',
      message: `The warn level (${percent(m.warnUsedFraction)} %) must be below the stop level (${percent(m.stopUsedFraction)} %), or the stage is stopped without a warning first.`,
    });
  }
  if (!fits('minAvailableMiB')) problems.push({ field: 'minAvailableMiB', message: `The available-RAM floor must be a whole number of MiB, ${whole(bound('minAvailableMiB', 'minValue'))} or more.` });
  if (!fits('swapGrowthMiB')) problems.push({ field: 'swapGrowthMiB', message: `The swap growth must be a whole number of MiB, ${whole(bound('swapGrowthMiB', 'minValue'))} or more.` });
  if (!fits('consecutiveSamples')) {
    problems.push({ field: 'consecutiveSamples', message: `Consecutive samples must be a whole number from ${whole(bound('consecutiveSamples', 'minValue'))} to ${whole(bound('consecutiveSamples', 'maxValue'))}.` });
  }
  if (!fits('sampleIntervalMs')) {
    problems.push({
      field: 'sampleIntervalMs',
      message: `The sampling period must be a whole number of milliseconds from ${whole(bound('sampleIntervalMs', 'minValue'))} to ${whole(bound('sampleIntervalMs', 'maxValue'))}.`,
    });
  }
  return problems;
}

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

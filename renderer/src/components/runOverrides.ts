/**
 * What a run overrode, in words. A run's `overrides` record also keeps the
 * preflight's figures (predicted peak, host RAM) for later comparison; those
 * are findings, not overrides, so a run that overrode nothing shows none.
 */
const LABELS: Record<string, (value: unknown) => string> = {
  allowPredictedOom: (value) => {
    const source = (value as { source?: string } | null)?.source;
    return `started although predicted to run out of memory${source === 'settings' ? ' (expert override in Settings)' : source === 'plan' ? ' (override in the plan)' : ''}`;
  },
};

/** Keys of the overrides record that are not overrides. */
const RECORDS_ONLY = new Set(['preflight']);

export function overrideLabels(overrides: Record<string, unknown> | null | undefined): string[] {
  if (!overrides) return [];
  return Object.entries(overrides)
    .filter(([key]) => !RECORDS_ONLY.has(key))
    .map(([key, value]) => (LABELS[key] ? LABELS[key](value) : key));
}

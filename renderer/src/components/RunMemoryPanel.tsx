/**
 * The run page's memory panel: the chart from the stored samples plus the
 * live ones streamed while the run is active, the guard's thresholds and the
 * conversion's prediction recorded when this run started (runPrediction.ts), and — when the guard stopped a stage — its figures
 * and what would fit instead.
 */
import { useMemo, useState } from 'react';
import type { MemorySample } from '../../../main/common/memory';
import type { RunDetail, StageRecord } from '../../../main/common/runs';
import { formatBytes } from '../../../main/common/format';
import { useCall, useEvents } from '../api/hooks';
import { MemoryChart } from './MemoryChart';
import { runPrediction } from './runPrediction';

interface GuardSuggestion {
  kind: string;
  text: string;
  fit: string;
}

export function RunMemoryPanel({ run }: { run: RunDetail }) {
  const stored = useCall('runs.memory', { id: run.id });
  const settings = useCall('settings.get', {});
  const [live, setLive] = useState<MemorySample[]>([]);
  useEvents((event) => {
    if (event.type === 'memory' && event.runId === run.id) setLive((previous) => [...previous, event.sample]);
  });

  const samples = useMemo(() => {
    const base: MemorySample[] = stored.data?.samples ?? [];
    const last = base.length > 0 ? base[base.length - 1]!.t : -Infinity;
    return [...base, ...live.filter((s) => s.t > last)];
  }, [stored.data, live]);

  // This run's own prediction, recorded when it started; never recomputed, never another stage's.
  const prediction = runPrediction(run);
  const estimate = prediction?.kind === 'peak' ? { expected: prediction.expected, high: prediction.high } : null;

  const stopped = run.stages.filter((s) => s.status === 'stopped_by_guard');
  if (samples.length === 0 && stopped.length === 0) return null;
  const memory = settings.data?.memory;

  return (
    <section className="card" data-testid="memory-panel">
      <h2>Memory</h2>
      {samples.length > 0 && memory ? (
        <MemoryChart samples={samples} warnUsedFraction={memory.warnUsedFraction} stopUsedFraction={memory.stopUsedFraction} estimate={estimate} />
      ) : null}
      {samples.length > 0 ? (
        <p className="muted">
          Peak stage RSS {formatBytes(Math.max(...samples.map((s) => s.treeRss)))} · lowest available RAM {formatBytes(Math.min(...samples.map((s) => s.sysAvailable)))}
          {estimate ? ` · predicted peak ${formatBytes(estimate.expected)} (up to ${formatBytes(estimate.high)})` : ''}
          {prediction?.kind === 'none' ? ` · no predicted peak: ${prediction.reason}` : ''}
        </p>
      ) : null}
      {stopped.map((stage) => (
        <GuardStop key={stage.id} stage={stage} />
      ))}
    </section>
  );
}

const FIT_STYLE: Record<string, { background: string; color: string }> = {
  fits: { background: '#e3f5ee', color: '#1b7a4e' },
  tight: { background: '#fff4e0', color: '#a56a00' },
  blocked: { background: '#fdecea', color: '#b3261e' },
  unknown: { background: '#eef0f4', color: '#475067' },
};

/** fits / tight / blocked, coloured like the run status badges. */
export function FitBadge({ fit }: { fit: string }) {
  return (
    <span className="badge" data-fit={fit} style={FIT_STYLE[fit] ?? FIT_STYLE.unknown}>
      {fit === 'unknown' ? 'no estimate' : fit}
    </span>
  );
}

/** What would have fit, from the guard's stop details (the stop message itself is in the run's error banner). */
function GuardStop({ stage }: { stage: StageRecord }) {
  const details = (stage.error?.details ?? {}) as { suggestions?: GuardSuggestion[] };
  const suggestions = details.suggestions ?? [];
  if (suggestions.length === 0) return null;
  return (
    <div className="guard-suggestions" data-testid="guard-suggestions">
      <strong>What would fit instead</strong>
      <ul>
        {suggestions.map((s) => (
          <li key={`${s.kind}-${s.text}`} data-fit={s.fit}>
            <FitBadge fit={s.fit} /> {s.text}
          </li>
        ))}
      </ul>
    </div>
  );
}

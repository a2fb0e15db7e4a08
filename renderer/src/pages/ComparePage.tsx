/**
 * Runs side by side: parameters, host, outcome, time and memory per stage,
 * with the rows that differ marked — "what changed between the conversion
 * that ran out of memory and the one that worked?"
 */
import { useEffect, useState } from 'react';
import { formatBytes, formatDuration, formatTimestamp, STATUS_LABELS } from '../../../main/common/format';
import { stageTitle } from '../../../main/common/stages/titles';
import type { RunDetail, StageRecord } from '../../../main/common/runs';
import { ApiError } from '../api/client';
import { useApi } from '../api/hooks';
import { Empty, ErrorBox, StatusBadge } from '../components/common';
import { evaluationCompareRows } from '../components/evaluationCompare';
import type { Route } from '../router';
import { overrideLabels } from '../components/runOverrides';

interface Row {
  label: string;
  section: string;
  values: string[];
}

function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value === null || value === undefined) return [[prefix, '—']];
  if (Array.isArray(value)) return [[prefix, value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')]];
  if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
  return [[prefix, String(value)]];
}

function duration(start: number | null, end: number | null): string {
  return start && end ? formatDuration(end - start) : '—';
}


/**
 * Stages matched by kind (the second verify of a run with the second verify
 * of the other), in the order they first appear: a run that skipped the merge
 * compares its conversion with the other run's conversion, not its merge.
 */
function stageSlots(runs: RunDetail[]): { label: string; pick: (run: RunDetail) => StageRecord | undefined }[] {
  const slots: { kind: string; nth: number }[] = [];
  for (const run of runs) {
    const seen = new Map<string, number>();
    for (const stage of run.stages) {
      const nth = (seen.get(stage.kind) ?? 0) + 1;
      seen.set(stage.kind, nth);
      if (!slots.some((slot) => slot.kind === stage.kind && slot.nth === nth)) slots.push({ kind: stage.kind, nth });
    }
  }
  return slots.map(({ kind, nth }) => ({
    label: `${stageTitle(kind)}${nth > 1 ? ` (${nth})` : ''}`,
    pick: (run) => run.stages.filter((stage) => stage.kind === kind)[nth - 1],
  }));
}

/** The comparison table: one column per run, one row per fact, stages matched by kind. */
export function compareRows(runs: RunDetail[]): Row[] {
  const rows: Row[] = [];
  const add = (section: string, label: string, pick: (run: RunDetail) => string) => rows.push({ section, label, values: runs.map(pick) });
  add('Run', 'status', (run) => STATUS_LABELS[run.status] ?? run.status);
  add('Run', 'model', (run) => run.model ?? '—');
  add('Run', 'started', (run) => formatTimestamp(run.startedAt ?? run.createdAt));
  add('Run', 'duration', (run) => duration(run.startedAt, run.finishedAt));
  add('Run', 'peak RAM (stage tree)', (run) => formatBytes(run.peakRssBytes));
  add('Run', 'peak system RAM in use', (run) => formatBytes(run.peakSysUsedBytes));
  add('Run', 'error', (run) => run.error?.message ?? '—');
  add('Run', 'overrides', (run) => overrideLabels(run.overrides).join('; ') || 'none');
  add('Host', 'machine', (run) => `${run.host.hostname} (${run.host.platform} ${run.host.arch})`);
  add('Host', 'CPUs', (run) => String(run.host.cpuCount));
  add('Host', 'RAM', (run) => formatBytes(run.host.totalMemBytes));
  add('Host', 'app version', (run) => run.host.appVersion);
  for (const { label: section, pick } of stageSlots(runs)) {
    add(section, 'status', (run) => {
      const stage = pick(run);
      return stage ? (STATUS_LABELS[stage.status] ?? stage.status) : 'not in this run';
    });
    add(section, 'duration', (run) => duration(pick(run)?.startedAt ?? null, pick(run)?.finishedAt ?? null));
    add(section, 'peak RAM', (run) => formatBytes(pick(run)?.peakRssBytes));
    const keys = new Set<string>();
    const flat = runs.map((run) => new Map(flatten(pick(run)?.params ?? {})));
    for (const map of flat) for (const key of map.keys()) keys.add(key);
    for (const key of [...keys].sort()) rows.push({ section, label: key, values: flat.map((map) => map.get(key) ?? '—') });
    rows.push(...evaluationCompareRows(runs, pick, section));
  }
  return rows;
}

export function ComparePage({ route }: { route: Route }) {
  const api = useApi();
  const ids = (route.query.get('ids') ?? '')
    .split(',')
    .map(Number)
    .filter((id) => Number.isInteger(id) && id > 0);
  const [runs, setRuns] = useState<RunDetail[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [onlyDifferences, setOnlyDifferences] = useState(true);
  const key = ids.join(',');
  useEffect(() => {
    let live = true;
    setRuns(null);
    Promise.all(key.split(',').filter(Boolean).map((id) => api.call('runs.get', { id: Number(id) })))
      .then((loaded) => live && setRuns(loaded))
      .catch((err: unknown) => live && setError(err instanceof ApiError ? err : new ApiError('internal', String(err))));
    return () => {
      live = false;
    };
  }, [api, key]);

  if (ids.length < 2) {
    return (
      <div className="page" data-testid="compare-page">
        <h1>Compare runs</h1>
        <Empty>
          <span data-testid="compare-empty">
            {ids.length === 0 ? 'No runs are selected.' : 'Only one run is selected.'} Tick at least two runs on the <a href="#/runs">Runs page</a> and press Compare.
          </span>
        </Empty>
      </div>
    );
  }
  if (error) return <div className="page"><ErrorBox error={error} title="Cannot compare" /></div>;
  if (!runs) return <div className="page muted">Loading runs {ids.join(', ')}…</div>;
  const rows = compareRows(runs);
  const differs = (row: Row) => new Set(row.values).size > 1;
  // "Only what differs" means exactly that: each run's status stays in view in its column head.
  const shown = onlyDifferences ? rows.filter(differs) : rows;
  const hidden = rows.length - shown.length;
  let lastSection = '';
  return (
    <div className="page" data-testid="compare-page">
      <header className="page-header">
        <div>
          <a href="#/runs" className="back">← Runs</a>
          <h1>Compare runs</h1>
        </div>
        <label className="check">
          <input type="checkbox" checked={onlyDifferences} onChange={(event) => setOnlyDifferences(event.target.checked)} data-testid="only-differences" />
          Only what differs
        </label>
      </header>
      <table className="runs-table compare-table">
        <thead>
          <tr>
            <th />
            {runs.map((run) => (
              <th key={run.id}>
                <a href={`#/runs/${run.id}`}>Run {run.id}</a> <StatusBadge status={run.status} selftest={run.isSelftest} />
                {run.name ? <div className="muted">{run.name}</div> : null}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.flatMap((row) => {
            const out = [];
            if (row.section !== lastSection) {
              lastSection = row.section;
              out.push(
                <tr key={`section-${row.section}`} className="compare-section">
                  <td colSpan={runs.length + 1}>{row.section}</td>
                </tr>,
              );
            }
            out.push(
              <tr key={`${row.section}-${row.label}`} className={differs(row) ? 'differs' : ''} data-testid="compare-row" data-differs={differs(row) ? 'yes' : 'no'}>
                <th>{row.label}</th>
                {row.values.map((value, i) => (
                  <td key={i} className="mono">
                    {value}
                  </td>
                ))}
              </tr>,
            );
            return out;
          })}
        </tbody>
      </table>
      {onlyDifferences && hidden > 0 ? (
        <p className="muted" data-testid="compare-hidden">
          {shown.length === 0 ? 'These runs are the same in everything compared: ' : ''}
          {hidden} {hidden === 1 ? 'row' : 'rows'} with the same value in every run hidden.
        </p>
      ) : null}
    </div>
  );
}

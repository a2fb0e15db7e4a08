/**
 * Runs: every past and current run, filterable by status, with full-text
 * search across all logs (hits highlighted, one click to the line).
 */
import { useEffect, useRef, useState } from 'react';
import { formatBytes, formatDuration, formatTimestamp, STATUS_LABELS } from '../../../main/common/format';
import type { RunStatus, RunSummary } from '../../../main/common/runs';
import { useCall, useEvents } from '../api/hooks';
import { Empty, ErrorBox, Highlighted, ProgressBar, StatusBadge } from '../components/common';
import { navigate } from '../router';
import { useNow } from '../useNow';

const FILTERS: (RunStatus | 'all')[] = ['all', 'running', 'queued', 'succeeded', 'failed', 'cancelled', 'interrupted', 'stopped_by_guard'];

export function keyParamsText(run: Pick<RunSummary, 'keyParams'>): string {
  return Object.entries(run.keyParams)
    .map(([key, value]) => `${key} ${value}`)
    .join(' · ');
}

export function RunsPage() {
  const [filter, setFilter] = useState<RunStatus | 'all'>('all');
  const [query, setQuery] = useState('');
  const [debounced, setDebounced] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(query.trim()), 250);
    return () => clearTimeout(timer);
  }, [query]);

  const list = useCall('runs.list', { ...(filter === 'all' ? {} : { status: [filter] }), ...(debounced ? { logQuery: debounced } : {}), limit: 200 });
  const hits = useCall('runs.searchLogs', debounced ? { query: debounced, limit: 100 } : null);
  const now = useNow(1000);

  // Refresh on any run change, at most every 500 ms.
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEvents((event) => {
    if (event.type !== 'run' && event.type !== 'runDeleted') return;
    if (reloadTimer.current) return;
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = null;
      list.reload();
    }, 500);
  });

  const runs = list.data?.runs ?? [];
  const [selected, setSelected] = useState<number[]>([]);
  const toggle = (id: number) => setSelected((prev) => (prev.includes(id) ? prev.filter((x) => x !== id) : [...prev, id]));
  return (
    <div className="page" data-testid="runs-page">
      <header className="page-header">
        <h1>Runs</h1>
        <div className="actions">
          <button
            type="button"
            className="secondary"
            disabled={selected.length < 2}
            title="Tick two or more runs to see them side by side"
            onClick={() => navigate(`/compare?ids=${[...selected].sort((a, b) => a - b).join(',')}`)}
            data-testid="compare-runs"
          >
            Compare{selected.length > 0 ? ` (${selected.length})` : ''}
          </button>
          <button type="button" onClick={() => navigate('/new')}>
            New run
          </button>
        </div>
      </header>
      <div className="toolbar">
        <div className="chips" role="group" aria-label="Filter by status">
          {FILTERS.map((status) => (
            <button
              type="button"
              key={status}
              className={`chip${filter === status ? ' active' : ''}`}
              onClick={() => setFilter(status)}
              data-testid={`filter-${status}`}
            >
              {status === 'all' ? 'all' : STATUS_LABELS[status]}
            </button>
          ))}
        </div>
        <input
          type="search"
          className="search"
          placeholder="Search all logs…"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
          aria-label="Search all logs"
          data-testid="log-search"
        />
      </div>
      {list.error ? <ErrorBox error={list.error} /> : null}
      {debounced && hits.data ? (
        <section className="card search-hits" data-testid="search-hits">
          <h2>
            {hits.data.hits.length === 0
              ? 'No log line matches'
              : `${hits.data.hits.length}${hits.data.hits.length === 100 ? '+' : ''} matching log line${hits.data.hits.length === 1 ? '' : 's'}`} “{debounced}”
          </h2>
          <ul>
            {hits.data.hits.map((hit) => (
              <li key={hit.lineId}>
                <a href={`#/runs/${hit.runId}?line=${hit.lineId}`} data-testid="search-hit">
                  <span className="hit-run">Run {hit.runId}</span>
                  <span className={`hit-level level-${hit.level}`}>{hit.level}</span>
                  <span className="hit-text">
                    <Highlighted text={hit.snippet} />
                  </span>
                </a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {runs.length === 0 && !list.loading ? (
        <Empty>{debounced || filter !== 'all' ? 'No runs match.' : 'No runs yet. Start one from New run — the self-test needs no model.'}</Empty>
      ) : (
        <table className="runs-table" data-testid="runs-table">
          <thead>
            <tr>
              <th className="select-cell" aria-label="Select for comparison" />
              <th>#</th>
              <th>Status</th>
              <th>Model</th>
              <th>Parameters</th>
              <th>Duration</th>
              <th>Peak RAM</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.id} onClick={() => navigate(`/runs/${run.id}`)} className="clickable" data-testid="run-row" data-run-id={run.id}>
                <td className="select-cell" onClick={(event) => event.stopPropagation()}>
                  <input type="checkbox" checked={selected.includes(run.id)} onChange={() => toggle(run.id)} aria-label={`Select run ${run.id} for comparison`} data-testid="select-run" />
                </td>
                <td>{run.id}</td>
                <td>
                  <StatusBadge status={run.status} selftest={run.isSelftest} />
                  {run.currentStage ? (
                    <div className="row-progress">
                      <ProgressBar value={run.currentStage.progress} label={`Run ${run.id} progress`} />
                      <span className="muted">{run.currentStage.kind}</span>
                    </div>
                  ) : null}
                </td>
                <td>{run.isSelftest ? (run.name ?? 'self-test') : `${run.name ? `${run.name} — ` : ''}${run.model ?? '—'}`}</td>
                <td className="muted">{keyParamsText(run)}</td>
                <td>{formatDuration(run.startedAt ? (run.finishedAt ?? now) - run.startedAt : null)}</td>
                <td>{formatBytes(run.peakRssBytes)}</td>
                <td className="muted">{formatTimestamp(run.startedAt ?? run.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data && list.data.total > runs.length ? <p className="muted">Showing {runs.length} of {list.data.total} runs.</p> : null}
    </div>
  );
}

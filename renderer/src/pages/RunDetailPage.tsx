/**
 * One run: what it did (stage timeline with durations and live progress),
 * how it ended (errors with hints, guard stops with figures), what it made
 * (artifacts), how it used memory, and every log line.
 */
import { useState } from 'react';
import { formatBytes, formatDuration, formatTimestamp, STATUS_LABELS } from '../../../main/common/format';
import { stageTitle } from '../../../main/common/stages/titles';
import type { RunDetail, StageRecord } from '../../../main/common/runs';
import { useApi, useAction, useCall, useEvents } from '../api/hooks';
import { ErrorBox, ProgressBar, StatusBadge } from '../components/common';
import { finishedNote } from './stageNote';
import { LogViewer } from '../components/LogViewer';
import { evaluateVerdict } from '../components/EvaluatePanel';
import { RunExtras } from '../components/RunExtras';
import { overrideLabels } from '../components/runOverrides';
import { navigate } from '../router';
import { useNow } from '../useNow';
import { keyParamsText } from './RunsPage';

const ACTIVE = new Set(['running', 'queued']);

export function RunDetailPage({ runId, focusLineId }: { runId: number; focusLineId?: number }) {
  const api = useApi();
  const run = useCall('runs.get', { id: runId });
  const [liveStages, setLiveStages] = useState<Record<number, StageRecord>>({});
  const now = useNow(1000);

  useEvents((event) => {
    if (event.type === 'stage' && event.stage.runId === runId) setLiveStages((prev) => ({ ...prev, [event.stage.id]: event.stage }));
    if (event.type === 'run' && event.run.id === runId && !ACTIVE.has(event.run.status)) run.reload();
    if (event.type === 'run' && event.run.id === runId && event.run.status === 'running' && run.data?.status === 'queued') run.reload();
  });

  const cancel = useAction(() => api.call('runs.cancel', { id: runId }));
  const retry = useAction(async () => navigate(`/runs/${(await api.call('runs.retry', { id: runId })).id}`));
  const rerun = useAction(async (newOutputs: boolean) => navigate(`/runs/${(await api.call('runs.rerun', { id: runId, newOutputs })).id}`));
  // The report is built by the engine (main/core/report/) and saved through a Blob link, which works the same in serve mode and Electron.
  const exportReport = useAction(async (format: 'md' | 'html') => {
    const report = await api.call('runs.exportReport', { id: runId, format });
    const url = URL.createObjectURL(new Blob([report.text], { type: `${report.mimeType};charset=utf-8` }));
    const link = document.createElement('a');
    link.href = url;
    link.download = report.fileName;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  const remove = useAction(async () => {
    await api.call('runs.delete', { id: runId });
    navigate('/runs');
  });

  if (run.error) return <div className="page"><ErrorBox error={run.error} title={`Run ${runId}`} /></div>;
  if (!run.data) return <div className="page muted">Loading run {runId}…</div>;
  const detail: RunDetail = run.data;
  const stages = detail.stages.map((stage) => liveStages[stage.id] ?? stage);
  const active = ACTIVE.has(detail.status) && stages.some((stage) => stage.status === 'running' || stage.status === 'pending');
  // The run's own figure is written when a stage ends; while one runs, its live peak is the newer one.
  const runPeak = Math.max(detail.peakRssBytes ?? 0, ...stages.map((stage) => stage.peakRssBytes ?? 0)) || null;
  const failedStage = stages.find((stage) => stage.error && stage.status !== 'succeeded');
  const retryable = !active && ['failed', 'cancelled', 'interrupted', 'stopped_by_guard'].includes(detail.status);
  const actionError = cancel.error ?? retry.error ?? rerun.error ?? remove.error ?? exportReport.error;
  const verdict = evaluateVerdict({ ...detail, stages });

  return (
    <div className="page" data-testid="run-detail" data-run-status={detail.status}>
      <header className="page-header">
        <div>
          <a href="#/runs" className="back">← Runs</a>
          <h1>
            Run {detail.id}
            {detail.name ? <span className="muted"> — {detail.name}</span> : null} <StatusBadge status={active ? 'running' : detail.status} selftest={detail.isSelftest} />
          </h1>
        </div>
        <div className="actions">
          {active ? (
            <button type="button" className="danger" onClick={() => void cancel.run()} disabled={cancel.pending} data-testid="cancel-run">
              {cancel.pending ? 'Cancelling…' : 'Cancel'}
            </button>
          ) : null}
          {retryable ? (
            <button type="button" onClick={() => void retry.run()} disabled={retry.pending} data-testid="retry-run" title="Reuse the stages that finished and start from the first that did not">
              {detail.status === 'failed' ? 'Retry from failed stage' : 'Resume from the unfinished stage'}
            </button>
          ) : null}
          {!active ? (
            <>
              <button type="button" className="secondary" onClick={() => void exportReport.run('html')} disabled={exportReport.pending} data-testid="export-report-html" title="One self-contained HTML file (inline CSS and charts, no scripts) to send to someone">
                Report (HTML)
              </button>
              <button type="button" className="secondary" onClick={() => void exportReport.run('md')} disabled={exportReport.pending} data-testid="export-report-md" title="The same report as Markdown, for a ticket or a chat">
                Report (Markdown)
              </button>
            </>
          ) : null}
          {!active ? (
            <button type="button" className="secondary" onClick={() => void rerun.run(false)} disabled={rerun.pending} data-testid="rerun">
              Run again
            </button>
          ) : null}
          {!active ? (
            <button
              type="button"
              className="secondary danger-text"
              onClick={() => {
                if (window.confirm(`Delete run ${detail.id} and its ${detail.logCount.toLocaleString()} log lines? Output files stay on disk.`)) void remove.run();
              }}
              data-testid="delete-run"
            >
              Delete
            </button>
          ) : null}
        </div>
      </header>
      {actionError && (rerun.error?.code === 'merge_output_exists' || rerun.error?.code === 'demo_output_exists') ? (
        <div className="banner" data-testid="rerun-choice">
          <p>
            <strong>Run again:</strong> {rerun.error.message} {rerun.error.code === 'demo_output_exists' ? "The previous run's demo is there; it is kept." : "The previous run's merged model is there; it is kept."}
          </p>
          <div className="actions">
            <button type="button" onClick={() => void rerun.run(true)} disabled={rerun.pending} data-testid="rerun-new-outputs">
              Run again into a new folder
            </button>
            <span className="muted">{rerun.error.code === 'demo_output_exists' ? 'the demo' : 'the merge'} writes beside the old folder (…-2), and the later stages read from there.</span>
          </div>
        </div>
      ) : actionError ? (
        <ErrorBox error={actionError} />
      ) : null}
      {/* In the demo the shipped bundle's differing answers are the point: its panel says so instead of this alarm. */}
      {verdict && verdict.matches < verdict.prompts && !stages.some((stage) => stage.kind === 'demo') ? (
        <div className="error-box" data-testid="run-verdict">
          <strong>
            Behaviour check: {verdict.matches} of {verdict.prompts} answers match the reference.
          </strong>{' '}
          The run finished, but the bundle does not behave like the model. <button type="button" className="link" onClick={() => document.getElementById('evaluate-panel')?.scrollIntoView()} data-testid="run-verdict-link">
            See why, and the fix
          </button>
        </div>
      ) : null}
      {detail.isSelftest ? <p className="selftest-note">This is a self-test run: it exercises the workbench without a model and produces no model files.</p> : null}

      <section className="summary-grid">
        <div><span className="k">Model</span><span className="v">{detail.model ?? '—'}</span></div>
        <div><span className="k">Parameters</span><span className="v">{keyParamsText(detail) || '—'}</span></div>
        <div><span className="k">Started</span><span className="v">{formatTimestamp(detail.startedAt ?? detail.createdAt)}</span></div>
        <div><span className="k">Duration</span><span className="v">{formatDuration(detail.startedAt ? (detail.finishedAt ?? now) - detail.startedAt : null)}</span></div>
        <div><span className="k">Peak RAM (stage tree)</span><span className="v">{formatBytes(runPeak)}</span></div>
        <div><span className="k">Host</span><span className="v">{detail.host.hostname} · {detail.host.cpuCount} CPUs · {formatBytes(detail.host.totalMemBytes)}</span></div>
        {detail.parentRunId ? <div><span className="k">From run</span><span className="v"><a href={`#/runs/${detail.parentRunId}`}>{detail.parentRunId}</a></span></div> : null}
        {overrideLabels(detail.overrides).length > 0 ? (
          <div className="wide">
            <span className="k">Overrides</span>
            <span className="v warn-text" data-testid="run-overrides">
              {overrideLabels(detail.overrides).join('; ')}
            </span>
          </div>
        ) : null}
      </section>

      {failedStage?.error && !active && failedStage.status === 'cancelled' ? (
        <div className="banner" data-testid="run-cancelled">
          <strong>{stageTitle(failedStage.kind)} was cancelled.</strong> {failedStage.error.message} Nothing it was writing was kept; “Resume” starts again from this stage.
        </div>
      ) : failedStage?.error && !active ? (
        <ErrorBox
          title={`${stageTitle(failedStage.kind)} ${STATUS_LABELS[failedStage.status] ?? failedStage.status}`}
          error={{ code: failedStage.error.code, message: failedStage.error.message, ...(failedStage.error.hint ? { hint: failedStage.error.hint } : {}) }}
        />
      ) : null}

      <section className="card">
        <h2>Stages</h2>
        <ol className="timeline" data-testid="stage-timeline">
          {stages.map((stage) => (
            <li key={stage.id} className={`stage stage-${stage.status}`} data-testid="stage" data-stage-status={stage.status}>
              <div className="stage-head">
                <span className="stage-index">{stage.idx + 1}</span>
                <span className="stage-title">{stageTitle(stage.kind)}</span>
                <StatusBadge status={stage.status} />
                <span className="muted">{formatDuration(stage.startedAt ? (stage.finishedAt ?? now) - stage.startedAt : null)}</span>
                {stage.peakRssBytes ? <span className="muted">peak {formatBytes(stage.peakRssBytes)}</span> : null}
              </div>
              {stage.status === 'running' ? (
                <div className="stage-progress">
                  <ProgressBar value={stage.progress} label={`${stage.kind} progress`} />
                  <span className="muted" data-testid="stage-phase">
                    {stage.progress !== null ? `${Math.round(stage.progress * 100)} %` : ''} {stage.phase ?? ''} {stage.message ? `— ${stage.message}` : ''}
                  </span>
                </div>
              ) : finishedNote(stage) ? (
                <div className="muted stage-message" data-testid="stage-note">
                  {finishedNote(stage)}
                </div>
              ) : null}
            </li>
          ))}
        </ol>
      </section>

      <RunExtras run={{ ...detail, stages }} />

      {detail.artifacts.length > 0 ? (
        <section className="card">
          <h2>Artifacts</h2>
          <table className="artifacts">
            <tbody>
              {detail.artifacts.map((artifact) => (
                <tr key={artifact.id}>
                  <td>{artifact.kind}</td>
                  <td className="mono">{artifact.path}</td>
                  <td>{formatBytes(artifact.sizeBytes)}</td>
                  <td className="mono muted" title={artifact.sha256 ?? ''}>{artifact.sha256 ? `${artifact.sha256.slice(0, 12)}…` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      <section className="card">
        <h2>Log</h2>
        <LogViewer runId={runId} live={active} {...(focusLineId !== undefined ? { focusLineId } : {})} />
      </section>
    </div>
  );
}

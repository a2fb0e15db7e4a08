/**
 * The memory estimator's calibration on this host: prior vs calibrated
 * scales, how many conversions the fit rests on (and how many only say
 * "exceeded X" because the guard stopped them), the data points, and reset.
 */
import { formatBytes, formatTimestamp } from '../../../main/common/format';
import { useApi, useAction, useCall } from '../api/hooks';
import { ErrorBox } from './common';

const SCALE_LABELS: Record<string, string> = {
  weights: 'weight copies',
  context: 'context (mask, KV cache)',
  fixed: 'runtime baseline',
  duration: 'duration',
};

export function CalibrationCard() {
  const api = useApi();
  const view = useCall('memory.calibration.get', {});
  const reset = useAction(async () => {
    await api.call('memory.calibration.reset', {});
    view.reload();
  });
  if (view.error) return <ErrorBox error={view.error} title="Calibration" />;
  if (!view.data) return null;
  const { fit, points } = view.data;
  return (
    <section className="card" data-testid="calibration-card">
      <h2>Memory estimator calibration</h2>
      <p className="muted">
        Every conversion that finishes on this host, or is stopped by the memory guard, refines the estimator's coefficients (bounded and robust to outliers). The prior comes from the
        converter's source and public reports (docs/memory.md).
      </p>
      {fit.runs === 0 ? (
        <p data-testid="calibration-runs">No conversions on this host yet: estimates use the prior.</p>
      ) : (
        <>
          <p data-testid="calibration-runs">
            Calibrated from {fit.runs} run{fit.runs === 1 ? '' : 's'}
            {fit.censoredRuns > 0 ? ` (${fit.censoredRuns} stopped by the guard, counted as lower bounds)` : ''}. Typical error: prior {(fit.priorError * 100).toFixed(0)} %, calibrated{' '}
            {(fit.calibratedError * 100).toFixed(0)} %.
          </p>
          <table className="kv">
            <thead>
              <tr>
                <th>term</th>
                <th>prior</th>
                <th>calibrated</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(fit.scales).map(([key, value]) => (
                <tr key={key}>
                  <th>{SCALE_LABELS[key] ?? key}</th>
                  <td>× 1.00</td>
                  <td>× {value.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>{points.length} data point{points.length === 1 ? '' : 's'}</summary>
            <ul>
              {points.map((point) => (
                <li key={`${point.runId}-${point.stageId}`}>
                  <a href={`#/runs/${point.runId}`}>Run {point.runId}</a> · {point.label} · {point.censored ? 'exceeded ' : 'peak '}
                  {formatBytes(point.peakBytes)} · {formatTimestamp(point.at)}
                </li>
              ))}
            </ul>
          </details>
        </>
      )}
      <button type="button" className="secondary" disabled={fit.runs === 0 || reset.pending} onClick={() => void reset.run()} data-testid="reset-calibration">
        Reset calibration
      </button>
      {reset.error ? <ErrorBox error={reset.error} /> : null}
    </section>
  );
}

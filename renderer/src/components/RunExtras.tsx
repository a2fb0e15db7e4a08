/**
 * Per-capability panels on a run's page (memory chart, merge summary,
 * fidelity report, …), listed in runPanels.ts. Each panel decides from the
 * run whether it has anything to show; stage results no panel claims are
 * shown as plain key/value tables so nothing a stage reported is hidden.
 */
import type { RunDetail } from '../../../main/common/runs';
import { runPanels } from './runPanels';

export function RunExtras({ run }: { run: RunDetail }) {
  const claimed = new Set(runPanels.flatMap((panel) => panel.claims));
  const unclaimed = run.stages.filter((stage) => stage.result && !claimed.has(stage.kind));
  return (
    <>
      {runPanels.map((panel) => (
        <panel.component key={panel.id} run={run} />
      ))}
      {unclaimed.length > 0 ? (
        <section className="card" data-testid="stage-results">
          <h2>Results</h2>
          {unclaimed.map((stage) => (
            <div key={stage.id} className="result-block">
              <h3>
                {stage.idx + 1}. {stage.kind}
              </h3>
              <table className="kv">
                <tbody>
                  {Object.entries(stage.result ?? {}).map(([key, value]) => (
                    <tr key={key}>
                      <th>{key}</th>
                      <td className="mono">{typeof value === 'object' ? JSON.stringify(value) : String(value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </section>
      ) : null}
    </>
  );
}

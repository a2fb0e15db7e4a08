/**
 * The run page's panel for verify stages: the fidelity report stored as the
 * stage's result, and the numeric comparison when it ran.
 */
import { FidelityReport } from '../../../main/common/fidelity';
import type { RunDetail } from '../../../main/common/runs';
import { FidelityChecklist } from './FidelityChecklist';

interface NumericTotals {
  top1_agreement?: number;
  kl_mean?: number;
  max_abs_logit_diff?: number;
}

export function FidelityPanel({ run }: { run: RunDetail }) {
  const results = run.stages.flatMap((stage) => {
    if (stage.kind !== 'verify' || !stage.result) return [];
    const report = FidelityReport.safeParse((stage.result as { report?: unknown }).report);
    if (!report.success) return [];
    const numeric = (stage.result as { numeric?: { status?: string; result?: { numeric?: { totals?: NumericTotals } }; error?: { message: string; hint?: string } } }).numeric;
    return [{ stage, report: report.data, numeric }];
  });
  if (results.length === 0) return null;
  return (
    <>
      {results.map(({ stage, report, numeric }) => {
        const totals = numeric?.result?.numeric?.totals;
        return (
          <section key={stage.id} className="card" data-testid="fidelity-panel">
            <h2>Fidelity</h2>
            <FidelityChecklist report={report} />
            {numeric ? (
              <div style={{ marginTop: 12 }}>
                <h3>Numeric comparison</h3>
                {totals ? (
                  <p>
                    Top-1 agreement {((totals.top1_agreement ?? 0) * 100).toFixed(1)}% · mean KL {(totals.kl_mean ?? 0).toFixed(4)} · max |logit diff| {(totals.max_abs_logit_diff ?? 0).toFixed(3)}
                  </p>
                ) : (
                  <p className="warn-text">
                    Did not run: {numeric.error?.message ?? 'no result'} {numeric.error?.hint ?? ''}
                  </p>
                )}
              </div>
            ) : null}
          </section>
        );
      })}
    </>
  );
}

/**
 * The run page's panel for verify stages: the fidelity report stored as the
 * stage's result (with the metadata fix one click away), and the numeric
 * comparison when it ran.
 */
import { useState } from 'react';
import type { FidelityFixResult } from '../../../main/common/api/fidelity';
import { FidelityReport } from '../../../main/common/fidelity';
import type { RunDetail } from '../../../main/common/runs';
import { useAction, useApi } from '../api/hooks';
import { ErrorBox } from './common';
import { FidelityChecklist } from './FidelityChecklist';

interface NumericTotals {
  top1_agreement?: number;
  kl_mean?: number;
  max_abs_logit_diff?: number;
}

interface NumericOutcome {
  status?: string;
  result?: { numeric?: { totals?: NumericTotals } };
  error?: { message: string; hint?: string };
}

/** `model.litertlm` → `model-fixed.litertlm`, beside it. */
export function fixedBundlePath(bundle: string): string {
  return bundle.replace(/(\.litertlm|\.tflite)?$/i, '-fixed.litertlm');
}

function VerifyResult({ report, numeric }: { report: FidelityReport; numeric: NumericOutcome | undefined }) {
  const api = useApi();
  const [fixed, setFixed] = useState<FidelityFixResult | null>(null);
  const fix = useAction(async () => {
    setFixed(
      await api.call('fidelity.fix', {
        modelDir: report.modelDir,
        bundlePath: report.bundlePath,
        outPath: fixedBundlePath(report.bundlePath),
        ...(report.intendedContext !== null ? { intendedContext: report.intendedContext } : {}),
      }),
    );
  });
  const totals = numeric?.result?.numeric?.totals;
  return (
    <>
      {fix.error ? <ErrorBox error={fix.error} title="The metadata fix failed" /> : null}
      {fixed ? (
        <p data-testid="fidelity-panel-fixed">
          Wrote <span className="mono">{fixed.outPath}</span> in {(fixed.elapsedMs / 1000).toFixed(1)} s without re-conversion.
          {fixed.remaining.length > 0 ? ` Still to address outside the metadata: ${fixed.remaining.join(', ')}.` : ' Every check passes now.'}
        </p>
      ) : null}
      <FidelityChecklist report={fixed ? fixed.after : report} onFix={fixed ? undefined : () => void fix.run()} fixing={fix.pending} fixTarget={fixedBundlePath(report.bundlePath)} />
      {numeric ? (
        <div style={{ marginTop: 12 }}>
          <h3>Numeric comparison</h3>
          {totals ? (
            <p data-testid="fidelity-numeric">
              Top-1 agreement {((totals.top1_agreement ?? 0) * 100).toFixed(1)}% · mean KL {(totals.kl_mean ?? 0).toFixed(4)} · max |logit diff| {(totals.max_abs_logit_diff ?? 0).toFixed(3)}
            </p>
          ) : numeric.status === 'skipped' ? (
            <p className="warn-text" data-testid="fidelity-numeric-skipped">
              Skipped (the checklist above ran, and the run went on): {numeric.error?.message ?? 'no result'} {numeric.error?.hint ?? ''}
            </p>
          ) : (
            <p className="warn-text">
              Did not run: {numeric.error?.message ?? 'no result'} {numeric.error?.hint ?? ''}
            </p>
          )}
        </div>
      ) : null}
    </>
  );
}

export function FidelityPanel({ run }: { run: RunDetail }) {
  const results = run.stages.flatMap((stage) => {
    if (stage.kind !== 'verify' || !stage.result) return [];
    const result = stage.result as { report?: unknown; numeric?: NumericOutcome };
    const report = FidelityReport.safeParse(result.report);
    return report.success ? [{ stage, report: report.data, numeric: result.numeric }] : [];
  });
  if (results.length === 0) return null;
  return (
    <>
      {results.map(({ stage, report, numeric }) => (
        <section key={stage.id} className="card" data-testid="fidelity-panel">
          <h2>Fidelity</h2>
          <VerifyResult report={report} numeric={numeric} />
        </section>
      ))}
    </>
  );
}

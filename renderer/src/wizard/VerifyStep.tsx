/**
 * Step 5: verification: the fidelity checklist (stop tokens, prompt format,
 * sampling, context, quantization, tokenizer) and optionally the numeric
 * comparison against the PyTorch model. When the bundle already exists the
 * checklist can run right here, and the metadata fix re-packages it in
 * seconds (docs/fidelity.md).
 */
import { useState } from 'react';
import type { FidelityFixResult } from '../../../main/common/api/fidelity';
import type { FidelityReport } from '../../../main/common/fidelity';
import { useAction, useApi } from '../api/hooks';
import { ErrorBox, Field } from '../components/common';
import { FidelityChecklist } from '../components/FidelityChecklist';
import { fixedBundlePath } from '../components/FidelityPanel';
import { PathField } from '../components/PathField';
import { derivedPaths, intendedContext, mergeEnabled, type StepProps } from './draft';

export function VerifyStep({ draft, update }: StepProps) {
  const api = useApi();
  const paths = derivedPaths(draft);
  const set = (patch: Partial<typeof draft.verify>) => update((d) => ({ ...d, verify: { ...d.verify, ...patch } }));
  const [report, setReport] = useState<FidelityReport | null>(null);
  const [fixed, setFixed] = useState<FidelityFixResult | null>(null);
  // Before the merge has run its output folder does not exist; the base folder has the same tokenizer, template and generation settings.
  const checkModelDir = mergeEnabled(draft) ? draft.modelDir.trim() : paths.metadataModelDir;
  const context = intendedContext(draft);
  const request = { modelDir: checkModelDir, bundlePath: paths.verifyBundle, ...(context !== undefined ? { intendedContext: context } : {}) };
  const check = useAction(async () => {
    setFixed(null);
    setReport(await api.call('fidelity.check', request));
  });
  const fix = useAction(async () => {
    const result = await api.call('fidelity.fix', { ...request, outPath: fixedBundlePath(paths.verifyBundle) });
    setFixed(result);
    setReport(result.after);
    set({ bundlePath: result.outPath });
  });
  const canCheck = Boolean(checkModelDir && paths.verifyBundle);
  return (
    <div className="step" data-testid="step-verify">
      <h2>Verification</h2>
      <label className="check">
        <input type="checkbox" checked={draft.verify.enabled} onChange={(event) => set({ enabled: event.target.checked })} />
        Check the bundle against the model
      </label>
      <PathField label="Bundle to check" kind="file" testId="verify-bundle" value={draft.verify.bundlePath} placeholder={paths.verifyBundle} onChange={(bundlePath) => set({ bundlePath })} />
      <Field
        label="Context you intend to use on device"
        help={
          draft.verify.intendedContext === null ? (
            draft.convert.enabled ? 'Follows the context length chosen in the Conversion step.' : 'Type the context your app will use; the check compares it with the bundle’s.'
          ) : (
            <button type="button" className="link" onClick={() => set({ intendedContext: null })} data-testid="intended-context-follow">
              Follow the Conversion step’s context instead
            </button>
          )
        }
      >
        <input
          type="number"
          min={1}
          value={context ?? ''}
          onChange={(event) => set({ intendedContext: event.target.value === '' ? null : Math.max(1, Math.round(Number(event.target.value))) })}
          data-testid="intended-context"
        />
      </Field>
      <label className="check">
        <input type="checkbox" checked={draft.verify.numeric} onChange={(event) => set({ numeric: event.target.checked })} />
        Also compare outputs numerically with the PyTorch model (needs the Python environment)
      </label>
      <label className="check">
        <input type="checkbox" checked={Boolean(draft.verify.behaviour)} onChange={(event) => set({ behaviour: event.target.checked })} data-testid="verify-behaviour" />
        Behaviour check: run the bundle in LiteRT-LM's own engine next to the model in PyTorch (answers side by side, why they differ; needs Python with torch)
      </label>
      <div className="actions">
        <button type="button" className="secondary" disabled={!canCheck || check.pending} onClick={() => void check.run()} data-testid="verify-check-now">
          {check.pending ? 'Checking…' : 'Check an existing bundle now'}
        </button>
        <span className="lead">Runs the checklist on the bundle above without starting a run.</span>
      </div>
      {check.error ? <ErrorBox error={check.error} title="The check could not run" /> : null}
      {fix.error ? <ErrorBox error={fix.error} title="The metadata fix failed" /> : null}
      {fixed ? (
        <p data-testid="verify-fixed">
          Wrote <span className="mono">{fixed.outPath}</span> in {(fixed.elapsedMs / 1000).toFixed(1)} s without re-conversion.
          {fixed.remaining.length > 0 ? ` Still to address outside the metadata: ${fixed.remaining.join(', ')}.` : ' Every check passes now.'}
        </p>
      ) : null}
      {report ? <FidelityChecklist report={report} onFix={() => void fix.run()} fixing={fix.pending} fixTarget={fixedBundlePath(paths.verifyBundle)} /> : null}
    </div>
  );
}

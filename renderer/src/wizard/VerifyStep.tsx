/**
 * Step 5: verification: the fidelity checklist (stop tokens, prompt format,
 * sampling, context, quantization, tokenizer) and optionally the numeric
 * comparison against the PyTorch model.
 */
import { Field } from '../components/common';
import { PathField } from '../components/PathField';
import { derivedPaths, type StepProps } from './draft';

export function VerifyStep({ draft, update }: StepProps) {
  const paths = derivedPaths(draft);
  const set = (patch: Partial<typeof draft.verify>) => update((d) => ({ ...d, verify: { ...d.verify, ...patch } }));
  return (
    <div className="step" data-testid="step-verify">
      <h2>Verification</h2>
      <label className="check">
        <input type="checkbox" checked={draft.verify.enabled} onChange={(event) => set({ enabled: event.target.checked })} />
        Check the bundle against the model
      </label>
      <PathField label="Bundle to check" kind="file" value={draft.verify.bundlePath} placeholder={paths.verifyBundle} onChange={(bundlePath) => set({ bundlePath })} />
      <Field label="Context you intend to use on device">
        <input type="number" min={1} value={draft.verify.intendedContext} onChange={(event) => set({ intendedContext: Number(event.target.value) })} />
      </Field>
      <label className="check">
        <input type="checkbox" checked={draft.verify.numeric} onChange={(event) => set({ numeric: event.target.checked })} />
        Also compare outputs numerically with the PyTorch model (needs the Python environment)
      </label>
    </div>
  );
}

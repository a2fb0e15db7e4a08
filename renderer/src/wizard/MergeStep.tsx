/**
 * Step 2: merge the LoRA adapter into the base weights, natively and
 * streaming (one tensor in memory at a time).
 */
import { Field } from '../components/common';
import { PathField } from '../components/PathField';
import { derivedPaths, type StepProps } from './draft';

export function MergeStep({ draft, update }: StepProps) {
  const paths = derivedPaths(draft);
  if (!draft.adapterDir.trim()) {
    return (
      <div className="step" data-testid="step-merge">
        <h2>LoRA merge</h2>
        <p className="lead">No adapter was chosen, so the model is used as it is (already merged). Go back to the model step to add an adapter.</p>
      </div>
    );
  }
  return (
    <div className="step" data-testid="step-merge">
      <h2>LoRA merge</h2>
      <p className="lead">W′ = W + scale · (B · A) for every targeted layer, computed in float32 and rounded back to the model's dtype, one tensor at a time.</p>
      <label className="check">
        <input type="checkbox" checked={draft.merge.enabled} onChange={(event) => update((d) => ({ ...d, merge: { ...d.merge, enabled: event.target.checked } }))} />
        Merge the adapter
      </label>
      <PathField label="Merged model output folder" kind="folder" value={draft.merge.outDir} placeholder={paths.mergeOut} onChange={(outDir) => update((d) => ({ ...d, merge: { ...d.merge, outDir } }))} />
      <label className="check">
        <input type="checkbox" checked={draft.merge.verify} onChange={(event) => update((d) => ({ ...d, merge: { ...d.merge, verify: event.target.checked } }))} />
        Verify merged tensors against an independent float64 computation (recommended)
      </label>
      <div className="inline-fields">
        <Field label="Shard size (MiB)" help="Size of each output .safetensors file; Hugging Face's default is about 4 GiB.">
          <input type="number" min={64} value={draft.merge.shardSizeMiB} onChange={(event) => update((d) => ({ ...d, merge: { ...d.merge, shardSizeMiB: Number(event.target.value) } }))} />
        </Field>
        <Field label="Worker threads" help="For the matrix products; 0 uses one per core of the machine running the merge.">
          <input type="number" min={0} max={256} value={draft.merge.threads} onChange={(event) => update((d) => ({ ...d, merge: { ...d.merge, threads: Math.max(0, Math.round(Number(event.target.value))) } }))} data-testid="merge-threads" />
        </Field>
      </div>
      <p className="muted">
        Memory: one tensor and its LoRA factors at a time — a few hundred MiB whatever the model's size. Progress (tensors, bytes, throughput, time left), live memory, cancel and the summary
        (tensors changed, scale per module, output size, checksums, verification) are on the run's page.
      </p>
    </div>
  );
}

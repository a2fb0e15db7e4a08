/**
 * Step 4: package the .tflite, the tokenizer and metadata derived from the
 * model's own files into a .litertlm bundle (native, no Python).
 */
import { PathField } from '../components/PathField';
import { derivedPaths, type StepProps } from './draft';

export function PackageStep({ draft, update }: StepProps) {
  const paths = derivedPaths(draft);
  const set = (patch: Partial<typeof draft.package>) => update((d) => ({ ...d, package: { ...d.package, ...patch } }));
  return (
    <div className="step" data-testid="step-package">
      <h2>Packaging</h2>
      <label className="check">
        <input type="checkbox" checked={draft.package.enabled} onChange={(event) => set({ enabled: event.target.checked })} />
        Package as .litertlm
      </label>
      <p className="lead">Stop tokens, chat template, sampler settings and the context limit are taken from the model's own generation_config.json and tokenizer_config.json, so the bundle behaves on device as the model was trained to.</p>
      <PathField label=".tflite to package" kind="file" value={draft.package.tflitePath} placeholder={paths.tflite} onChange={(tflitePath) => set({ tflitePath })} />
      <PathField label="Bundle output (.litertlm)" kind="file" value={draft.package.outPath} placeholder={paths.bundle} onChange={(outPath) => set({ outPath })} />
    </div>
  );
}

/**
 * Step 4: package the .tflite, the tokenizer and metadata derived from the
 * model's own files into a .litertlm bundle (native, no Python).
 */
import { MetadataEditor } from '../components/MetadataEditor';
import { PathField } from '../components/PathField';
import { derivedPaths, packageEnabled, type StepProps } from './draft';

export function PackageStep({ draft, update }: StepProps) {
  const paths = derivedPaths(draft);
  const set = (patch: Partial<typeof draft.package>) => update((d) => ({ ...d, package: { ...d.package, ...patch } }));
  if (draft.convert.enabled && !packageEnabled(draft)) {
    return (
      <div className="step" data-testid="step-package">
        <h2>Packaging</h2>
        <p className="lead">
          The export_hf route writes the .litertlm bundle itself (<code>{paths.bundle || '—'}</code>), so there is no separate packaging stage. The verification step checks
          that bundle's metadata against the model; if it finds problems it can re-package the bundle with corrected metadata in seconds.
        </p>
      </div>
    );
  }
  return (
    <div className="step" data-testid="step-package">
      <h2>Packaging</h2>
      <label className="check">
        <input type="checkbox" checked={draft.package.enabled} onChange={(event) => set({ enabled: event.target.checked })} />
        Package as .litertlm
      </label>
      <p className="lead">Stop tokens, chat template, sampler settings and the context limit are taken from the model's own generation_config.json and tokenizer_config.json, so the bundle behaves on device as the model was trained to.</p>
      <PathField label=".tflite to package" kind="file" value={draft.package.tflitePath} placeholder={paths.tflite} onChange={(tflitePath) => set({ tflitePath })} testId="package-tflite" />
      <PathField label="Bundle output (.litertlm)" kind="file" save value={draft.package.outPath} placeholder={paths.bundle} onChange={(outPath) => set({ outPath })} />
      <h3>Metadata</h3>
      <p className="muted">
        Derived from the model's files; edit a field to override it. Tokenizer, template and generation settings are the same in the base model and the merged one, so they are read
        from the base folder before the merge has run.
      </p>
      <MetadataEditor
        modelDir={draft.modelDir.trim()}
        {...(!draft.convert.enabled && paths.tflite ? { tflitePath: paths.tflite } : {})}
        plannedContext={draft.convert.kvCacheMaxLen}
        overrides={draft.package.metadataOverrides}
        onChange={(metadataOverrides) => set({ metadataOverrides })}
      />
    </div>
  );
}

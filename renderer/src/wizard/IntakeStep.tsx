/**
 * Step 1: which model. A base model folder (Hugging Face layout) and, if the
 * fine-tune is a LoRA adapter, its folder; or an already merged model.
 */
import { Field } from '../components/common';
import { PathField } from '../components/PathField';
import type { StepProps } from './draft';

export function IntakeStep({ draft, update }: StepProps) {
  return (
    <div className="step" data-testid="step-model">
      <h2>Model</h2>
      <p className="lead">Pick the Hugging Face model folder (config.json, *.safetensors, tokenizer files). If you fine-tuned with LoRA, also pick the adapter folder; leave it empty for an already merged model.</p>
      <Field label="Run name (optional)">
        <input type="text" value={draft.name} onChange={(event) => update((d) => ({ ...d, name: event.target.value }))} placeholder="e.g. qwen2.5-1.5b support-bot v3" />
      </Field>
      <PathField label="Base model folder" kind="folder" value={draft.modelDir} onChange={(modelDir) => update((d) => ({ ...d, modelDir }))} testId="model-dir" />
      <PathField
        label="LoRA adapter folder (optional)"
        kind="folder"
        value={draft.adapterDir}
        onChange={(adapterDir) => update((d) => ({ ...d, adapterDir }))}
        help="Holds adapter_config.json and adapter_model.safetensors."
        testId="adapter-dir"
      />
    </div>
  );
}

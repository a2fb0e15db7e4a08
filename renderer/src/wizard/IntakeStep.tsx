/**
 * Step 1: which model. A base model folder (Hugging Face layout) and, if the
 * fine-tune is a LoRA adapter, its folder; or an already merged model. As
 * soon as a folder is typed, intake reads its config and safetensors headers
 * (never the weights, on the engine's host) and shows what the converter will
 * meet, with every problem in plain words and what to do about it.
 */
import { useEffect, useState, type ReactNode } from 'react';
import type { IntakeResult } from '../../../main/common/intake';
import { formatBytes } from '../../../main/common/format';
import { useCall } from '../api/hooks';
import { ErrorBox, Field } from '../components/common';
import { PathField } from '../components/PathField';
import type { StepProps } from './draft';

function formatCount(n: number | null): string {
  if (n === null) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  return n.toLocaleString();
}

function Row({ k, v, wide }: { k: string; v: ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? 'wide' : undefined}>
      <span className="k">{k}</span>
      <span className="v">{v}</span>
    </div>
  );
}

function ModelFindings({ result }: { result: IntakeResult }) {
  const m = result.model;
  if (!m) return null;
  const yes = (ok: boolean, text: string) => <span className={ok ? '' : 'warn-text'}>{text}</span>;
  return (
    <section className="summary-grid" data-testid="intake-model">
      <Row k="Architecture" v={m.architecture ?? 'unknown'} />
      <Row k="Parameters" v={`${formatCount(m.parameterCount ?? m.parameterCountFromConfig)}${m.parameterCount === null ? ' (from config.json)' : ''}`} />
      <Row k="Weights" v={`${m.configDtype ?? '?'} · ${m.tensorDtypes.join(', ') || 'unreadable'} · ${m.weightFiles} file(s)`} />
      <Row k="Size on disk" v={formatBytes(m.sizeOnDiskBytes)} />
      <Row k="Layers × hidden" v={m.dims.numHiddenLayers && m.dims.hiddenSize ? `${m.dims.numHiddenLayers} × ${m.dims.hiddenSize}` : '—'} />
      <Row k="Trained context" v={m.dims.maxPositionEmbeddings?.toLocaleString() ?? '—'} />
      <Row k="Tokenizer" v={yes(m.tokenizerFiles.length > 0, m.tokenizerFiles.join(', ') || 'missing')} />
      <Row k="Chat template" v={yes(m.chatTemplate.present, m.chatTemplate.present ? `yes (${m.chatTemplate.source})` : 'missing')} />
      <Row wide k="native route (.tflite)" v={yes(m.support.native.supported, m.support.native.message)} />
      <Row wide k="example route (.tflite)" v={yes(m.support.example.supported, m.support.example.message)} />
      <Row wide k="export_hf route (.litertlm)" v={yes(m.support.export_hf.supported, m.support.export_hf.message)} />
    </section>
  );
}

function AdapterFindings({ result }: { result: IntakeResult }) {
  const a = result.adapter;
  if (!a) return null;
  const base = a.baseNameMatches === 'yes' ? 'matches the chosen base' : a.baseNameMatches === 'no' ? 'differs from the chosen base' : 'not comparable';
  return (
    <section className="summary-grid" data-testid="intake-adapter">
      <Row k="Adapter" v={`${a.peftType ?? '?'} rank ${a.rank ?? '?'}, alpha ${a.alpha ?? '?'}${a.useRslora ? ' (rsLoRA)' : ''}${a.hasRankPattern ? ', per-module ranks' : ''}`} />
      <Row k="Target modules" v={a.targetModules.join(', ') || '—'} />
      <Row k="LoRA pairs" v={`${a.loraModules} (${a.shapesChecked} shape-checked against the base)`} />
      <Row wide k="Trained on" v={`${a.baseModelNameOrPath ?? 'not recorded'} — ${base}`} />
    </section>
  );
}

/** The value once it has stopped changing for `ms` (no request per keystroke while a path is typed). */
function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Problems that say a typed folder is missing or not the right kind: held back while that field is being typed in. */
const MODEL_PATH_CODES = new Set(['model_not_found', 'not_model_folder', 'adapter_as_model']);
const ADAPTER_PATH_CODES = new Set(['adapter_config_missing', 'adapter_unreadable']);

export function IntakeStep({ draft, update }: StepProps) {
  const modelDir = useSettled(draft.modelDir.trim());
  const adapterDir = useSettled(draft.adapterDir.trim());
  const [typing, setTyping] = useState<'model' | 'adapter' | null>(null);
  const intake = useCall('intake.inspect', modelDir ? { modelDir, route: draft.convert.route, ...(adapterDir ? { adapterDir } : {}) } : null);
  const result = intake.data;
  const shown = (result?.problems ?? []).filter((p) => !(typing === 'model' && MODEL_PATH_CODES.has(p.code)) && !(typing === 'adapter' && ADAPTER_PATH_CODES.has(p.code)));
  return (
    <div className="step" data-testid="step-model">
      <h2>Model</h2>
      <p className="lead">Pick the Hugging Face model folder (config.json, *.safetensors, tokenizer files). If you fine-tuned with LoRA, also pick the adapter folder; leave it empty for an already merged model.</p>
      <Field label="Run name (optional)">
        <input type="text" value={draft.name} onChange={(event) => update((d) => ({ ...d, name: event.target.value }))} placeholder="e.g. qwen2.5-1.5b support-bot v3" />
      </Field>
      <PathField
        label="Base model folder"
        kind="folder"
        recent="model"
        excludeRole="adapter"
        value={draft.modelDir}
        onChange={(value) => update((d) => ({ ...d, modelDir: value }))}
        onFocusChange={(focused) => setTyping(focused ? 'model' : null)}
        testId="model-dir"
      />
      <PathField
        label="LoRA adapter folder (optional)"
        kind="folder"
        recent="adapter"
        value={draft.adapterDir}
        excludeRole="model"
        onChange={(value) => update((d) => ({ ...d, adapterDir: value }))}
        onFocusChange={(focused) => setTyping(focused ? 'adapter' : null)}
        help="Holds adapter_config.json and adapter_model.safetensors."
        testId="adapter-dir"
      />
      {intake.loading ? <p className="help">Reading config and safetensors headers…</p> : null}
      {intake.error ? <ErrorBox error={intake.error} /> : null}
      {result ? (
        <div data-testid="intake-result" data-ready={result.ready ? 'yes' : 'no'}>
          <ModelFindings result={result} />
          <AdapterFindings result={result} />
          {shown.length > 0 ? (
            <ul style={{ listStyle: 'none', padding: 0, display: 'flex', flexDirection: 'column', gap: 8 }} data-testid="intake-problems">
              {shown.map((p, i) => (
                <li key={`${p.code}-${i}`} className={p.severity === 'error' ? 'error-box' : 'banner'} data-code={p.code}>
                  <p style={{ margin: 0 }}>{p.message}</p>
                  <p className="hint" style={{ margin: '4px 0 0' }}>
                    What to do: {p.fix}
                  </p>
                </li>
              ))}
            </ul>
          ) : result.problems.length === 0 ? (
            <p data-testid="intake-ok">No problems found.</p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/**
 * The LlmMetadata a bundle will carry, derived from the model folder by the
 * engine (`package.deriveMetadata`) and shown editable before packaging.
 * Each field shows where its value came from; an edit becomes an override
 * (the package stage's `metadataOverrides`), so fields left alone keep
 * following the model — and max_num_tokens the .tflite's KV cache, which
 * may not exist yet when the plan is made.
 *
 * Usage (wizard package step):
 *   <MetadataEditor modelDir={…} tflitePath={…} overrides={draft.package.metadataOverrides}
 *                   onChange={(o) => set({ metadataOverrides: o })} />
 */
import { useId, type ReactNode } from 'react';
import type { LlmMetadataJson, SamplerParamsJson } from '../../../main/common/formats';
import { LlmModelTypeName, SamplerType } from '../../../main/common/formats';
import { metadataProblems } from '../../../main/common/metadataChecks';
import { useCall } from '../api/hooks';
import { ErrorBox } from './common';
import { parseNumber, textToToken, textToTokens, tokensToText, tokenToText } from './metadataFields';

export interface MetadataEditorProps {
  modelDir: string;
  /** The converted model when it already exists (gives max_num_tokens). */
  tflitePath?: string;
  /** Context length the conversion is planned with, shown when there is no .tflite yet. */
  plannedContext?: number;
  overrides: LlmMetadataJson;
  onChange: (overrides: LlmMetadataJson) => void;
  /** Also show the resulting metadata as JSON (what `workbench package --metadata` takes). */
  showJson?: boolean;
}

type Field = keyof LlmMetadataJson;

export function MetadataEditor({ modelDir, tflitePath, plannedContext, overrides, onChange, showJson }: MetadataEditorProps) {
  const derived = useCall('package.deriveMetadata', modelDir ? { modelDir, ...(tflitePath ? { tflitePath } : {}) } : null);
  if (!modelDir) return null;
  if (derived.error) return <ErrorBox error={derived.error} title="Cannot derive the metadata from the model folder" />;
  if (!derived.data) return <div className="muted">Reading the model folder…</div>;
  const base = derived.data.metadata;
  const sources = derived.data.sources;
  const value = <F extends Field>(field: F): LlmMetadataJson[F] => (field in overrides ? overrides[field] : base[field]);
  const set = <F extends Field>(field: F, next: LlmMetadataJson[F] | undefined) => {
    const copy: LlmMetadataJson = { ...overrides };
    if (next === undefined) delete copy[field];
    else copy[field] = next;
    onChange(copy);
  };
  const reset = (field: Field) => {
    const copy: LlmMetadataJson = { ...overrides };
    delete copy[field];
    onChange(copy);
  };
  // The packager refuses these; the limits are the tokenizer's size and the KV cache (planned, before conversion).
  const limits = { vocabSize: derived.data.limits.vocabSize, kvCacheLength: derived.data.limits.kvCacheLength ?? plannedContext ?? null };
  const problems = metadataProblems({ ...base, ...overrides }, limits);
  const row = (field: Field, label: string, editor: ReactNode, note?: string) => (
    <Row
      key={field}
      label={label}
      edited={field in overrides}
      onReset={() => reset(field)}
      source={field in overrides ? 'Edited here.' : (note ?? sources[field] ?? '')}
      problems={problems.filter((p) => p.field === field).map((p) => p.message)}
    >
      {editor}
    </Row>
  );
  const sampler: SamplerParamsJson = value('samplerParams') ?? {};
  const setSampler = (patch: Partial<SamplerParamsJson>) => set('samplerParams', { ...sampler, ...patch });
  const modelType = Object.keys(value('llmModelType') ?? {})[0] ?? '';
  const maxTokensNote =
    !('maxNumTokens' in overrides) && base.maxNumTokens === undefined && plannedContext
      ? `From the .tflite's KV cache once converted (planned: ${plannedContext} tokens).`
      : undefined;

  return (
    <div className="metadata-editor" data-testid="metadata-editor">
      {row(
        'stopTokens',
        'Stop tokens',
        <TextInput value={tokensToText(value('stopTokens'))} onCommit={(text) => set('stopTokens', textToTokens(text))} placeholder="ids or token strings, comma-separated" testId="meta-stop" />,
      )}
      {row(
        'startToken',
        'Start token',
        <TextInput value={value('startToken') ? tokenToText(value('startToken')!) : ''} onCommit={(text) => set('startToken', textToToken(text))} placeholder="none" testId="meta-start" />,
      )}
      {row(
        'samplerParams',
        'Sampler',
        <div className="inline-fields">
          <select value={sampler.type ?? 'TYPE_UNSPECIFIED'} onChange={(e) => setSampler({ type: SamplerType.parse(e.target.value) })} data-testid="meta-sampler-type">
            {SamplerType.options.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <NumberInput label="k" value={sampler.k} integer onCommit={(k) => setSampler({ k })} />
          <NumberInput label="p" value={sampler.p} onCommit={(p) => setSampler({ p })} />
          <NumberInput label="temperature" value={sampler.temperature} onCommit={(temperature) => setSampler({ temperature })} />
        </div>,
      )}
      {row('maxNumTokens', 'Max tokens', <NumberInput label="" value={value('maxNumTokens')} integer onCommit={(n) => set('maxNumTokens', n)} />, maxTokensNote)}
      {row(
        'llmModelType',
        'Model type',
        <select value={modelType} onChange={(e) => set('llmModelType', e.target.value ? { [e.target.value]: {} } : undefined)} data-testid="meta-model-type">
          <option value="">(none)</option>
          {LlmModelTypeName.options.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>,
      )}
      {row(
        'jinjaPromptTemplate',
        'Chat template',
        <details>
          <summary>{value('jinjaPromptTemplate') ? `${value('jinjaPromptTemplate')!.length} characters` : 'none'}</summary>
          <TextArea value={value('jinjaPromptTemplate') ?? ''} onCommit={(text) => set('jinjaPromptTemplate', text === '' ? undefined : text)} />
        </details>,
      )}
      {showJson ? (
        <details data-testid="meta-json">
          <summary>As JSON (for workbench package --metadata)</summary>
          <pre className="mono" style={{ whiteSpace: 'pre-wrap', maxHeight: 360, overflow: 'auto', background: '#f6f7f9', padding: 10, borderRadius: 6 }}>
            {JSON.stringify({ ...base, ...overrides }, null, 2)}
          </pre>
        </details>
      ) : null}
      {derived.data.warnings.length > 0 ? (
        <ul style={{ margin: '8px 0 0', paddingLeft: 18 }}>
          {derived.data.warnings.map((w) => (
            <li key={w} className="warn-text">
              {w}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function Row({ label, edited, onReset, source, problems, children }: { label: string; edited: boolean; onReset: () => void; source: string; problems: string[]; children: ReactNode }) {
  const id = useId();
  return (
    <div className={problems.length > 0 ? 'field invalid' : 'field'} aria-labelledby={id} data-testid={problems.length > 0 ? 'meta-invalid' : undefined}>
      <label id={id}>
        {label}
        {edited ? (
          <>
            {' '}
            <span className="badge">edited</span>{' '}
            <button type="button" className="secondary" onClick={onReset}>
              Use derived
            </button>
          </>
        ) : null}
      </label>
      {children}
      {problems.map((problem) => (
        <div key={problem} className="field-error" role="alert">
          {problem}
        </div>
      ))}
      <div className="help">{source}</div>
    </div>
  );
}

/** Commits on blur or Enter, so typing a list does not re-render the plan on every key. */
function TextInput({ value, onCommit, placeholder, testId }: { value: string; onCommit: (text: string) => void; placeholder?: string; testId?: string }) {
  return (
    <input
      key={value}
      className="path-input"
      type="text"
      spellCheck={false}
      defaultValue={value}
      placeholder={placeholder}
      data-testid={testId}
      onBlur={(e) => e.target.value !== value && onCommit(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
      }}
    />
  );
}

function TextArea({ value, onCommit }: { value: string; onCommit: (text: string) => void }) {
  return (
    <textarea
      key={value}
      className="path-input"
      rows={14}
      spellCheck={false}
      defaultValue={value}
      style={{ width: '100%' }}
      onBlur={(e) => e.target.value !== value && onCommit(e.target.value)}
    />
  );
}

function NumberInput({ label, value, integer, onCommit }: { label: string; value: number | undefined; integer?: boolean; onCommit: (n: number | undefined) => void }) {
  return (
    <label className="check" style={{ margin: 0 }}>
      {label}
      <input
        key={String(value)}
        type="text"
        inputMode="decimal"
        defaultValue={value === undefined ? '' : String(value)}
        style={{ width: 130 }}
        onBlur={(e) => {
          const parsed = parseNumber(e.target.value, integer ?? false);
          if (parsed === null) {
            e.target.setCustomValidity(integer ? 'A whole number' : 'A number');
            e.target.reportValidity();
            return;
          }
          e.target.setCustomValidity('');
          if (parsed !== value) onCommit(parsed);
        }}
      />
    </label>
  );
}

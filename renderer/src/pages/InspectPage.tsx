/**
 * Inspect: a Netron-style summary (not a graph editor) of any artifact the
 * workbench deals with — a .litertlm bundle, a .tflite model or a Hugging
 * Face model folder — read header-only by the engine (`inspect.open`). The
 * path lives in the route (#/inspect?path=…) so runs and reports can link here.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { formatBytes } from '../../../main/common/format';
import type {
  HfFolderSummary,
  InspectionSummary,
  KeyValue,
  LitertlmSummary,
  LlmMetadataJson,
  SectionSummary,
  SignatureSummary,
  TensorInfo,
  TfliteSummary,
  TokenizerSummary,
  TokenUnionJson,
} from '../../../main/common/formats';
import { useCall } from '../api/hooks';
import { Empty, ErrorBox } from '../components/common';
import { MetadataEditor } from '../components/MetadataEditor';
import { PathField } from '../components/PathField';
import { navigate, type Route } from '../router';

const FORMAT_LABEL: Record<InspectionSummary['format'], string> = { litertlm: 'LiteRT-LM bundle', tflite: 'TFLite model', 'hf-folder': 'Hugging Face folder' };

export function InspectPage({ route }: { route: Route }) {
  const target = route.query.get('path') ?? '';
  const [draft, setDraft] = useState(target);
  useEffect(() => setDraft(target), [target]);
  const result = useCall('inspect.open', target ? { path: target } : null);
  const open = () => {
    if (draft.trim()) navigate(`/inspect?path=${encodeURIComponent(draft.trim())}`);
  };
  return (
    <div className="page" data-testid="inspect-page">
      <div className="page-header">
        <h1>Inspect</h1>
      </div>
      <form
        className="card"
        onSubmit={(event) => {
          event.preventDefault();
          open();
        }}
      >
        <PathField
          label="File or folder"
          kind="file"
          value={draft}
          onChange={setDraft}
          placeholder="/path/to/model.litertlm, model.tflite or a model folder"
          help="Headers only: multi-GB files open in milliseconds and weights are never loaded."
          testId="inspect-path"
        />
        <div className="actions">
          <button type="submit" disabled={!draft.trim() || result.loading} data-testid="inspect-open">
            {result.loading ? 'Reading…' : 'Open'}
          </button>
          {target && !result.loading ? (
            <button type="button" className="secondary" onClick={result.reload}>
              Reload
            </button>
          ) : null}
        </div>
      </form>
      {!target ? <Empty>Name a .litertlm bundle, a .tflite model or a Hugging Face model folder to see what is inside.</Empty> : null}
      {target && result.error ? <ErrorBox error={result.error} title="Cannot read this file" /> : null}
      {target && result.data && !result.loading ? <Summary summary={result.data} /> : null}
    </div>
  );
}

function Summary({ summary }: { summary: InspectionSummary }) {
  return (
    <div className="page" data-testid="inspect-summary" data-format={summary.format}>
      <div className="muted mono" style={{ overflowWrap: 'anywhere' }}>
        {summary.format === 'hf-folder' && summary.isAdapter ? 'LoRA adapter (PEFT)' : FORMAT_LABEL[summary.format]} · {summary.path}
      </div>
      {summary.format === 'litertlm' ? <Bundle s={summary} /> : summary.format === 'tflite' ? <Tflite s={summary} /> : <Folder s={summary} />}
    </div>
  );
}

function Grid({ items }: { items: [string, ReactNode, boolean?][] }) {
  return (
    <section className="summary-grid">
      {items.map(([k, v, wide]) => (
        <div key={k} className={wide ? 'wide' : undefined}>
          <span className="k">{k}</span>
          <span className="v">{v}</span>
        </div>
      ))}
    </section>
  );
}

function Warnings({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <section className="card" data-testid="inspect-warnings">
      <h2>Warnings</h2>
      <ul style={{ margin: 0, paddingLeft: 18 }}>
        {warnings.map((w) => (
          <li key={w} className="warn-text">
            {w}
          </li>
        ))}
      </ul>
    </section>
  );
}

const kvText = (entries: KeyValue[]): string => (entries.length > 0 ? entries.map((e) => `${e.key}=${String(e.value)}`).join(', ') : '—');

// ---------------------------------------------------------------------------

function Bundle({ s }: { s: LitertlmSummary }) {
  return (
    <>
      <Grid
        items={[
          ['Format version', `${s.version.major}.${s.version.minor}.${s.version.patch}`],
          ['File size', formatBytes(s.sizeBytes)],
          ['Header', `${s.headerEnd} bytes`],
          ['Numeric header values', s.numericEncoding === 'none' ? 'none' : `${s.numericEncoding}s`],
          ['System metadata', kvText(s.systemMetadata), true],
        ]}
      />
      <section className="card">
        <h2>Sections</h2>
        <table className="runs-table" data-testid="inspect-sections">
          <thead>
            <tr>
              <th>#</th>
              <th>Type</th>
              <th>Begin</th>
              <th>End</th>
              <th>Size</th>
              <th>Items</th>
              <th>Content</th>
            </tr>
          </thead>
          <tbody>
            {s.sections.map((section) => (
              <tr key={section.index}>
                <td>{section.index}</td>
                <td>{section.dataTypeName}</td>
                <td className="mono">
                  {section.beginOffset}
                  {section.aligned ? null : <span className="warn-text"> (not 16 KiB aligned)</span>}
                </td>
                <td className="mono">{section.endOffset}</td>
                <td>{formatBytes(section.sizeBytes)}</td>
                <td>{kvText(section.items)}</td>
                <td>{section.content.kind === 'error' ? <span className="danger-text">{section.content.code}</span> : section.content.kind}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {s.sections.map((section) => (
        <SectionCard key={section.index} section={section} />
      ))}
      <Warnings warnings={s.warnings} />
    </>
  );
}

function SectionCard({ section }: { section: SectionSummary }) {
  const title = `Section ${section.index}: ${section.dataTypeName}`;
  const c = section.content;
  if (c.kind === 'opaque') return null;
  if (c.kind === 'error') return <ErrorBox error={{ code: c.code, message: c.message }} title={`${title} cannot be read`} />;
  return (
    <section className="card" data-testid={`inspect-section-${section.index}`}>
      <h2>{title}</h2>
      {c.kind === 'tokenizer' ? <Tokenizer t={c.tokenizer} /> : c.kind === 'llm-metadata' ? <Metadata m={c.metadata} /> : <Tflite s={c.tflite} />}
    </section>
  );
}

function tokenText(t: TokenUnionJson | undefined): string {
  if (!t) return '—';
  return 'tokenStr' in t ? JSON.stringify(t.tokenStr) : `id ${t.tokenIds.ids.join(' + ')}`;
}

function Metadata({ m }: { m: LlmMetadataJson }) {
  const sampler = m.samplerParams;
  const affixes = m.promptTemplates;
  return (
    <div data-testid="inspect-metadata">
      <Grid
        items={[
          ['Start token', tokenText(m.startToken)],
          ['Stop tokens', m.stopTokens && m.stopTokens.length > 0 ? m.stopTokens.map(tokenText).join(', ') : <span className="warn-text">none</span>],
          ['Sampler', sampler ? `${sampler.type ?? 'TYPE_UNSPECIFIED'} · k ${sampler.k ?? '—'} · p ${sampler.p ?? '—'} · temperature ${sampler.temperature ?? '—'}` : 'none (runtime default: effectively greedy)'],
          ['Max tokens', m.maxNumTokens ?? 'not set'],
          ['Model type', m.llmModelType ? Object.keys(m.llmModelType).join(', ') : '—'],
          ['Thinking / function calling', `${m.supportsThinking ?? '—'} / ${m.supportsFunctionCalling ?? '—'}`],
        ]}
      />
      {affixes ? (
        <table className="runs-table" style={{ marginTop: 12 }}>
          <thead>
            <tr>
              <th>Role</th>
              <th>Prefix</th>
              <th>Suffix</th>
            </tr>
          </thead>
          <tbody>
            {(['system', 'user', 'model'] as const).map((role) =>
              affixes[role] ? (
                <tr key={role}>
                  <td>{role}</td>
                  <td className="mono">{JSON.stringify(affixes[role]?.prefix ?? '')}</td>
                  <td className="mono">{JSON.stringify(affixes[role]?.suffix ?? '')}</td>
                </tr>
              ) : null,
            )}
          </tbody>
        </table>
      ) : null}
      {m.jinjaPromptTemplate ? <Template name="Jinja prompt template" text={m.jinjaPromptTemplate} /> : null}
    </div>
  );
}

function Template({ name, text }: { name: string; text: string }) {
  return (
    <details style={{ marginTop: 12 }}>
      <summary>
        {name} ({text.length} characters)
      </summary>
      <pre className="mono" style={{ whiteSpace: 'pre-wrap', maxHeight: 360, overflow: 'auto', background: '#f6f7f9', padding: 10, borderRadius: 6 }}>
        {text}
      </pre>
    </details>
  );
}

function Tokenizer({ t }: { t: TokenizerSummary }) {
  if (t.kind === 'sentencepiece') {
    return (
      <Grid
        items={[
          ['Kind', `SentencePiece ${t.modelType ?? ''}`],
          ['Pieces', t.pieceCount],
          ['Size', formatBytes(t.sizeBytes)],
          ['Control / user pieces', t.specialPieces.map((p) => `${p.content}=${p.id}`).join(' ') || '—', true],
          ['sha256', <span className="mono">{t.sha256}</span>, true],
        ]}
      />
    );
  }
  return (
    <Grid
      items={[
        ['Kind', `Hugging Face ${t.modelType ?? '?'}${t.byteLevel ? ', byte-level' : ''}`],
        ['Vocabulary', `${t.vocabSize} tokens (${t.baseVocabSize} base)`],
        ['Merges', t.mergesCount ?? '—'],
        ['tokenizer.json', formatBytes(t.sizeBytes)],
        ['Added tokens', t.addedTokens.map((a) => `${a.content}=${a.id}${a.special ? '' : ' (not special)'}`).join(' ') || '—', true],
        ['sha256', <span className="mono">{t.sha256}</span>, true],
      ]}
    />
  );
}

// ---------------------------------------------------------------------------

const tensorText = (t: TensorInfo): string => `${t.name}: ${t.type}[${t.shape.join(', ')}]`;

function SignatureRow({ sig }: { sig: SignatureSummary }) {
  const kv = sig.inputs.filter((i) => /^kv_cache_[kv]_\d+$/.test(i.name));
  const others = sig.inputs.filter((i) => !kv.includes(i));
  return (
    <tr>
      <td className="mono">{sig.key}</td>
      <td className="mono">
        {others.map((t) => (
          <div key={t.name}>{tensorText(t)}</div>
        ))}
        {kv.length > 0 ? (
          <div className="muted">
            {tensorText(kv[0]!)} … ({kv.length} KV-cache inputs)
          </div>
        ) : null}
      </td>
      <td className="mono">
        {sig.outputs.map((t) => (
          <div key={t.name}>{tensorText(t)}</div>
        ))}
      </td>
    </tr>
  );
}

function Tflite({ s }: { s: TfliteSummary }) {
  const d = s.derived;
  const maxOps = Math.max(1, ...s.ops.map((o) => o.count));
  return (
    <div className="page" data-testid="inspect-tflite">
      <Grid
        items={[
          ['Size', formatBytes(s.sizeBytes)],
          ['Schema version', s.schemaVersion],
          ['Graph', `${s.subgraphCount} subgraphs · ${s.tensorCount} tensors · ${s.operatorCount} ops`],
          ['Buffers', s.buffers.externalCount > 0 ? `${s.buffers.count} (${s.buffers.externalCount} outside the flatbuffer, ${formatBytes(s.buffers.externalBytes)})` : `${s.buffers.count}, all inside the flatbuffer`],
          ['KV cache', d.kvCacheMaxLen === null ? 'none found' : `${d.kvCacheMaxLen} tokens × ${d.kvCacheLayers} layers`],
          ['Prefill lengths', d.prefillLengths.join(', ') || '—'],
          ['Decode signature', d.hasDecodeSignature ? 'yes' : 'no'],
          ['Quantization', <strong>{d.quantScheme}</strong>],
          ['How it was inferred', d.quantEvidence, true],
          ...(s.description ? [['Description', s.description, true] as [string, string, boolean]] : []),
        ]}
      />
      <table className="runs-table" data-testid="inspect-signatures">
        <thead>
          <tr>
            <th>Signature</th>
            <th>Inputs</th>
            <th>Outputs</th>
          </tr>
        </thead>
        <tbody>
          {s.signatures.map((sig) => (
            <SignatureRow key={sig.key} sig={sig} />
          ))}
        </tbody>
      </table>
      <table className="runs-table">
        <thead>
          <tr>
            <th>Tensor type</th>
            <th>Tensors</th>
            <th>Weights</th>
            <th>Weight bytes</th>
            <th>Quantized</th>
          </tr>
        </thead>
        <tbody>
          {s.quantization.map((q) => (
            <tr key={q.type}>
              <td>{q.type}</td>
              <td>{q.tensorCount}</td>
              <td>{q.constantCount}</td>
              <td>{formatBytes(q.constantBytes)}</td>
              <td>{q.quantizedCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <details>
        <summary>
          Operators ({s.ops.length} kinds, {s.operatorCount} in all)
        </summary>
        <table className="runs-table" style={{ marginTop: 8 }}>
          <tbody>
            {s.ops.map((o) => (
              <tr key={o.op}>
                <td className="mono" style={{ width: '40%' }}>
                  {o.op}
                </td>
                <td style={{ width: 70 }}>{o.count}</td>
                <td>
                  <div className="progress" style={{ maxWidth: 420 }}>
                    <div className="progress-fill" style={{ width: `${(o.count / maxOps) * 100}%` }} />
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}

// ---------------------------------------------------------------------------

function Folder({ s }: { s: HfFolderSummary }) {
  const [overrides, setOverrides] = useState<LlmMetadataJson>({});
  const c = s.config;
  const g = s.generationConfig;
  const t = s.tokenizerConfig;
  const a = s.adapter;
  return (
    <>
      {a ? (
        <section className="card" data-testid="inspect-adapter">
          <h2>LoRA adapter</h2>
          <Grid
            items={[
              ['Type', a.peftType ?? '—'],
              ['Trained on', a.baseModel ?? '—'],
              ['Rank · alpha', `${a.r ?? '—'} · ${a.loraAlpha ?? '—'}`],
              ['Scale', a.scale !== null ? `${Number(a.scale.toPrecision(4))} (alpha / ${a.useRslora ? '√r, rsLoRA' : 'r'})` : '—'],
              ['Target modules', Array.isArray(a.targetModules) ? a.targetModules.join(', ') || '—' : a.targetModules ? `regex ${a.targetModules}` : '—'],
              ['Modules saved whole', a.modulesToSave.join(', ') || '—'],
              ['Per-module rank/alpha', a.hasPatterns ? 'yes' : 'no'],
              ['DoRA', a.useDora ? <span className="warn-text">yes (not supported by the merge)</span> : 'no'],
              ['Weights', a.weightsFile ? `${a.weightsFile}: ${a.tensorCount} tensors, ${formatBytes(a.weightsBytes ?? 0)}` : <span className="warn-text">adapter_model.safetensors missing</span>],
            ]}
          />
        </section>
      ) : null}
      {c ? (
        <section className="card">
          <h2>config.json</h2>
          <Grid
            items={[
              ['Architecture', `${c.architectures.join(', ') || '?'} (${c.modelType ?? '?'})`],
              ['Layers', c.numHiddenLayers ?? '—'],
              ['Hidden / intermediate', `${c.hiddenSize ?? '—'} / ${c.intermediateSize ?? '—'}`],
              ['Attention heads / KV heads', `${c.numAttentionHeads ?? '—'} / ${c.numKeyValueHeads ?? '—'}`],
              ['Vocabulary', c.vocabSize ?? '—'],
              ['Max positions', c.maxPositionEmbeddings ?? '—'],
              ['dtype', c.torchDtype ?? '—'],
              ['Tied embeddings', String(c.tieWordEmbeddings ?? '—')],
            ]}
          />
        </section>
      ) : null}
      {g ? (
        <section className="card" data-testid="inspect-generation">
          <h2>generation_config.json</h2>
          <Grid
            items={[
              ['EOS ids', g.eosTokenIds.join(', ') || '—'],
              ['BOS / pad ids', `${g.bosTokenId ?? '—'} / ${g.padTokenId ?? '—'}`],
              ['Sampling', g.doSample === true ? 'yes' : g.doSample === false ? 'no (greedy)' : 'not set (greedy)'],
              ['Temperature · top-k · top-p', `${g.temperature ?? '—'} · ${g.topK ?? '—'} · ${g.topP ?? '—'}`],
              ['Repetition penalty', g.repetitionPenalty ?? '—'],
              ['Max new tokens', g.maxNewTokens ?? '—'],
            ]}
          />
        </section>
      ) : null}
      {s.tokenizer ? (
        <section className="card">
          <h2>Tokenizer</h2>
          <Tokenizer t={s.tokenizer} />
        </section>
      ) : null}
      {t ? (
        <section className="card">
          <h2>tokenizer_config.json</h2>
          <Grid
            items={[
              ['BOS', `${t.bosToken ?? '—'} (add_bos_token ${t.addBosToken ?? '—'})`],
              ['EOS', t.eosToken ?? '—'],
              ['Pad / unk', `${t.padToken ?? '—'} / ${t.unkToken ?? '—'}`],
              ['Chat template', t.chatTemplate ? `from ${t.chatTemplateSource}` : <span className="warn-text">none</span>],
              ['Tokenizer class', t.tokenizerClass ?? '—'],
            ]}
          />
          {t.chatTemplates.map((template) => (
            <Template key={template.name} name={`Chat template "${template.name}"`} text={template.template} />
          ))}
        </section>
      ) : null}
      {s.isAdapter ? null : (
        <section className="card">
          <h2>Weights</h2>
          {s.weights.format === 'none' ? (
            <span className="muted">No weight files.</span>
          ) : (
            <table className="runs-table">
              <tbody>
                {s.weights.files.map((f) => (
                  <tr key={f.name}>
                    <td className="mono">{f.name}</td>
                    <td>{formatBytes(f.sizeBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      {s.tokenizer && !s.isAdapter ? (
        <section className="card">
          <h2>LlmMetadata for packaging</h2>
          <p className="lead">What the packager derives from this folder for a .litertlm bundle; max_num_tokens comes from the converted model's KV cache.</p>
          <MetadataEditor modelDir={s.path} overrides={overrides} onChange={setOverrides} showJson />
        </section>
      ) : null}
      <Warnings warnings={s.warnings} />
    </>
  );
}

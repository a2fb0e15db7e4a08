/**
 * `workbench inspect FILE [--json]`: what is inside a .litertlm bundle, a
 * .tflite model or a Hugging Face model folder (header-only, never loading
 * weights). --json prints the InspectionSummary of main/common/formats.ts.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import type {
  HfFolderSummary,
  KeyValue,
  LitertlmSummary,
  LlmMetadataJson,
  SignatureSummary,
  TensorInfo,
  TfliteSummary,
  TokenizerSummary,
  TokenUnionJson,
} from '../../common/formats.js';
import { inspectPath } from '../../core/formats/detect.js';
import { EXIT, type CliCommand } from '../context.js';
import { renderTable } from '../table.js';

export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: 'Show what is inside a .litertlm bundle, a .tflite model or a Hugging Face model folder',
  usage: 'workbench inspect FILE|DIR [--json]',
  async run(argv, ctx) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    if (positionals.length !== 1) throw new WorkbenchError('usage', 'Name exactly one .litertlm, .tflite or model folder to inspect.');
    const summary = await inspectPath(path.resolve(positionals[0]!));
    ctx.out(values.json ? JSON.stringify(summary, null, 2) : describe(summary));
    return EXIT.ok;
  },
};

function describe(summary: Awaited<ReturnType<typeof inspectPath>>): string {
  switch (summary.format) {
    case 'litertlm':
      return describeBundle(summary);
    case 'tflite':
      return describeTflite(summary, path.basename(summary.path));
    case 'hf-folder':
      return describeFolder(summary);
  }
}

function describeBundle(s: LitertlmSummary): string {
  const lines = [
    `${path.basename(s.path)}: LiteRT-LM ${s.version.major}.${s.version.minor}.${s.version.patch}, ${formatBytes(s.sizeBytes)}, header ${s.headerEnd} bytes`,
    `System metadata: ${s.systemMetadata.length > 0 ? s.systemMetadata.map(kv).join(', ') : '(none)'}`,
    '',
    renderTable(
      ['#', 'section', 'begin', 'end', 'size', 'items'],
      s.sections.map((x) => [String(x.index), x.dataTypeName, String(x.beginOffset), String(x.endOffset), formatBytes(x.sizeBytes), x.items.map(kv).join(', ')]),
    ),
  ];
  for (const section of s.sections) {
    const c = section.content;
    const title = `Section ${section.index} (${section.dataTypeName})`;
    if (c.kind === 'tokenizer') lines.push('', `${title}: ${describeTokenizer(c.tokenizer)}`);
    else if (c.kind === 'llm-metadata') lines.push('', `${title}:`, ...describeMetadata(c.metadata).map((l) => `  ${l}`));
    else if (c.kind === 'tflite') lines.push('', `${title}:`, ...describeTflite(c.tflite, 'embedded model').split('\n').map((l) => `  ${l}`));
    else if (c.kind === 'error') lines.push('', `${title}: UNREADABLE (${c.code}): ${c.message}`);
  }
  if (s.warnings.length > 0) lines.push('', 'Warnings:', ...s.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

function kv(entry: KeyValue): string {
  return `${entry.key}=${String(entry.value)}`;
}

function describeTokenizer(t: TokenizerSummary): string {
  if (t.kind === 'sentencepiece') {
    const special = t.specialPieces.slice(0, 8).map((p) => p.content).join(' ');
    return `SentencePiece ${t.modelType ?? ''} model, ${t.pieceCount} pieces; special: ${special}${t.specialPieces.length > 8 ? ' …' : ''}; sha256 ${t.sha256.slice(0, 12)}…`;
  }
  const special = t.addedTokens.filter((a) => a.special);
  const shown = special.slice(0, 6).map((a) => `${a.content}=${a.id}`).join(' ');
  return (
    `Hugging Face ${t.modelType ?? '?'}${t.byteLevel ? ' (byte-level)' : ''}, ${t.vocabSize} tokens, ${t.mergesCount ?? 0} merges, ` +
    `${t.addedTokens.length} added (${special.length} special: ${shown}${special.length > 6 ? ' …' : ''}); tokenizer.json ${formatBytes(t.sizeBytes)}, sha256 ${t.sha256.slice(0, 12)}…`
  );
}

function token(t: TokenUnionJson | undefined): string {
  if (!t) return '(none)';
  return 'tokenStr' in t ? JSON.stringify(t.tokenStr) : `id ${t.tokenIds.ids.join('+')}`;
}

function describeMetadata(m: LlmMetadataJson): string[] {
  const sampler = m.samplerParams;
  const lines = [
    `start token: ${token(m.startToken)}`,
    `stop tokens: ${m.stopTokens && m.stopTokens.length > 0 ? m.stopTokens.map((t) => token(t)).join(', ') : '(none)'}`,
    `sampler: ${sampler ? `${sampler.type ?? 'TYPE_UNSPECIFIED'} k=${sampler.k ?? '—'} p=${sampler.p ?? '—'} temperature=${sampler.temperature ?? '—'}${sampler.seed !== undefined ? ` seed=${sampler.seed}` : ''}` : '(none: runtime default)'}`,
    `max_num_tokens: ${m.maxNumTokens ?? '(none)'}`,
    `llm_model_type: ${m.llmModelType ? Object.keys(m.llmModelType).join(', ') : '(none)'}`,
    `jinja_prompt_template: ${m.jinjaPromptTemplate ? `${m.jinjaPromptTemplate.length} characters` : '(none)'}`,
  ];
  const pt = m.promptTemplates;
  if (pt) {
    for (const role of ['system', 'user', 'model'] as const) {
      const a = pt[role];
      if (a) lines.push(`prompt_templates.${role}: prefix ${JSON.stringify(a.prefix ?? '')} suffix ${JSON.stringify(a.suffix ?? '')}`);
    }
  }
  if (m.supportsThinking !== undefined) lines.push(`supports_thinking: ${m.supportsThinking}`);
  if (m.minRuntimeVersion) lines.push(`min_runtime_version: ${m.minRuntimeVersion}`);
  return lines;
}

function tensor(t: TensorInfo): string {
  return `${t.name} ${t.type}[${t.shape.join(',')}]`;
}

/** KV-cache inputs repeat per layer: show the first pair and the count. */
function signatureLine(s: SignatureSummary): string {
  const kv = s.inputs.filter((i) => /^kv_cache_[kv]_\d+$/.test(i.name));
  const others = s.inputs.filter((i) => !kv.includes(i));
  const kvText = kv.length > 0 ? [`${tensor(kv[0]!)} … (${kv.length} KV-cache inputs)`] : [];
  return `${s.key} (subgraph ${s.subgraphIndex}): in ${[...others.map(tensor), ...kvText].join(', ')}; out ${s.outputs.map(tensor).join(', ')}`;
}

function describeTflite(s: TfliteSummary, name: string): string {
  const d = s.derived;
  const lines = [
    `${name}: TFLite schema v${s.schemaVersion}, ${formatBytes(s.sizeBytes)}${s.buffers.externalCount > 0 ? ` (flatbuffer ${formatBytes(s.buffers.flatbufferBytes)}, ${s.buffers.externalCount} external buffers ${formatBytes(s.buffers.externalBytes)})` : ''}` +
      `, ${s.subgraphCount} subgraphs, ${s.tensorCount} tensors, ${s.operatorCount} ops`,
    'Signatures:',
    ...s.signatures.map((sig) => `  ${signatureLine(sig)}`),
    `KV cache: ${d.kvCacheMaxLen === null ? 'none found' : `${d.kvCacheMaxLen} tokens, ${d.kvCacheLayers} layers`}; prefill lengths: ${d.prefillLengths.join(', ') || '—'}; decode signature: ${d.hasDecodeSignature ? 'yes' : 'no'}`,
    `Quantization: ${d.quantScheme}. ${d.quantEvidence}`,
    '',
    renderTable(
      ['type', 'tensors', 'weights', 'weight bytes', 'quantized'],
      s.quantization.map((q) => [q.type, String(q.tensorCount), String(q.constantCount), formatBytes(q.constantBytes), String(q.quantizedCount)]),
    ),
    '',
    `Ops: ${s.ops.slice(0, 12).map((o) => `${o.op} ${o.count}`).join(', ')}${s.ops.length > 12 ? `, … (${s.ops.length} kinds)` : ''}`,
  ];
  if (s.metadataNames.length > 0) lines.push(`Metadata: ${s.metadataNames.join(', ')}`);
  return lines.join('\n');
}

function describeFolder(s: HfFolderSummary): string {
  const c = s.config;
  const g = s.generationConfig;
  const t = s.tokenizerConfig;
  const lines = [`${path.basename(s.path)}: Hugging Face ${s.isAdapter ? 'adapter' : 'model'} folder`];
  if (c) {
    lines.push(
      `Architecture: ${c.architectures.join(', ') || '?'} (${c.modelType ?? '?'}), ${c.numHiddenLayers ?? '?'} layers, hidden ${c.hiddenSize ?? '?'}, ` +
        `heads ${c.numAttentionHeads ?? '?'}/${c.numKeyValueHeads ?? '?'} KV, vocab ${c.vocabSize ?? '?'}, max positions ${c.maxPositionEmbeddings ?? '?'}, ${c.torchDtype ?? '?'}`,
    );
  }
  if (g) {
    lines.push(
      `Generation: eos ${JSON.stringify(g.eosTokenIds)}, do_sample ${g.doSample ?? '—'}, temperature ${g.temperature ?? '—'}, top_k ${g.topK ?? '—'}, top_p ${g.topP ?? '—'}, repetition_penalty ${g.repetitionPenalty ?? '—'}`,
    );
  }
  if (s.tokenizer) lines.push(`Tokenizer: ${describeTokenizer(s.tokenizer)}`);
  if (t) {
    lines.push(`Special tokens: bos ${t.bosToken ?? '—'} (add_bos_token ${t.addBosToken ?? '—'}), eos ${t.eosToken ?? '—'}, pad ${t.padToken ?? '—'}`);
    lines.push(
      t.chatTemplate
        ? `Chat template: from ${t.chatTemplateSource}, ${t.chatTemplate.length} characters${t.chatTemplates.length > 1 ? ` (named: ${t.chatTemplates.map((x) => x.name).join(', ')})` : ''}`
        : 'Chat template: none',
    );
  }
  const a = s.adapter;
  if (a) {
    const targets = Array.isArray(a.targetModules) ? a.targetModules.join(', ') : (a.targetModules ?? '—');
    lines.push(
      `Adapter: ${a.peftType ?? '?'}${a.useDora ? ' (DoRA)' : ''}, r ${a.r ?? '—'}, lora_alpha ${a.loraAlpha ?? '—'}${a.scale !== null ? `, scale ${Number(a.scale.toFixed(4))}${a.useRslora ? ' (rsLoRA)' : ''}` : ''}, targets ${targets}, base ${a.baseModel ?? '—'}`,
    );
    // An adapter's weights are its own file (the model-weights scan skips adapter_*), as the UI shows them.
    lines.push(`Weights: ${a.weightsFile ? `${a.weightsFile}, ${a.tensorCount ?? '?'} tensors, ${formatBytes(a.weightsBytes)}` : 'none (adapter_model.safetensors is missing)'}`);
  } else {
    lines.push(`Weights: ${s.weights.format === 'none' ? 'none' : `${s.weights.format}, ${s.weights.files.length} file(s), ${formatBytes(s.weights.totalBytes)}`}`);
  }
  if (s.warnings.length > 0) lines.push('', 'Warnings:', ...s.warnings.map((w) => `  - ${w}`));
  return lines.join('\n');
}

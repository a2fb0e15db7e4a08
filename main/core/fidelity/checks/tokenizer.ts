/**
 * The tokenizer in the bundle must be the model's: same vocabulary, same
 * merges in the same order, same added tokens, same normalization and
 * pre-tokenization. A tokenizer from the base model when the fine-tune
 * added tokens, or from a sibling model, produces ids the weights were not
 * trained on, and every prompt and every decoded reply shifts.
 */
import type { CheckItem, Evidence } from '../../../common/fidelity.js';
import type { AnalysisInput } from '../input.js';

const SOURCE = 'LiteRT-LM schema (HF_Tokenizer_Zlib / SP_Tokenizer sections); HF tokenizers tokenizer.json';

interface ParsedTokenizerJson {
  model?: { vocab?: Record<string, number>; merges?: Array<string | [string, string]> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  decoder?: unknown;
}

function parse(text: string): ParsedTokenizerJson | null {
  try {
    return JSON.parse(text) as ParsedTokenizerJson;
  } catch {
    return null;
  }
}

function mergeKey(m: string | [string, string]): string {
  return typeof m === 'string' ? m : `${m[0]} ${m[1]}`;
}

/** Differences between two tokenizer.json files, one sentence each (empty = identical). */
export function tokenizerDifferences(modelText: string, bundleText: string): string[] {
  if (modelText === bundleText) return [];
  const a = parse(modelText);
  const b = parse(bundleText);
  if (!a || !b) return [`the ${a ? 'bundle' : 'model'} tokenizer.json does not parse`];
  const out: string[] = [];

  const va = a.model?.vocab ?? {};
  const vb = b.model?.vocab ?? {};
  const keysA = Object.keys(va);
  const keysB = Object.keys(vb);
  const changed = keysA.filter((k) => vb[k] !== va[k]);
  const extra = keysB.filter((k) => va[k] === undefined);
  if (changed.length > 0 || extra.length > 0) {
    const sample = [...changed.slice(0, 3).map((k) => `${JSON.stringify(k)}: ${va[k]} vs ${vb[k] ?? 'missing'}`), ...extra.slice(0, 2).map((k) => `${JSON.stringify(k)} only in bundle`)];
    out.push(`vocabulary differs (${keysA.length} vs ${keysB.length} entries, ${changed.length + extra.length} differ; e.g. ${sample.join('; ')})`);
  }

  // The readers refuse non-list merges; guard anyway so a comparison never throws.
  const ma = (Array.isArray(a.model?.merges) ? a.model.merges : []).map(mergeKey);
  const mb = (Array.isArray(b.model?.merges) ? b.model.merges : []).map(mergeKey);
  const firstMerge = ma.findIndex((m, i) => mb[i] !== m);
  if (ma.length !== mb.length || firstMerge >= 0) {
    const at = firstMerge >= 0 ? firstMerge : Math.min(ma.length, mb.length);
    out.push(`merges differ (${ma.length} vs ${mb.length}; first difference at rank ${at}: ${JSON.stringify(ma[at] ?? null)} vs ${JSON.stringify(mb[at] ?? null)})`);
  }

  const addedKey = (t: { id: number; content: string; special?: boolean }): string => `${t.id}:${t.content}:${t.special === true}`;
  const aa = new Set((a.added_tokens ?? []).map(addedKey));
  const ab = new Set((b.added_tokens ?? []).map(addedKey));
  const onlyModel = [...aa].filter((k) => !ab.has(k));
  const onlyBundle = [...ab].filter((k) => !aa.has(k));
  if (onlyModel.length > 0 || onlyBundle.length > 0) {
    out.push(`added tokens differ (only in model: ${onlyModel.slice(0, 3).join(', ') || 'none'}; only in bundle: ${onlyBundle.slice(0, 3).join(', ') || 'none'})`);
  }

  for (const key of ['normalizer', 'pre_tokenizer', 'decoder'] as const) {
    if (JSON.stringify(a[key] ?? null) !== JSON.stringify(b[key] ?? null)) out.push(`${key} differs`);
  }
  return out;
}

export function tokenizerCheck(input: AnalysisInput): CheckItem {
  const base = { id: 'tokenizer.identical', category: 'tokenizer' as const, title: "The bundle's tokenizer is the model's tokenizer", source: SOURCE };
  const bundled = input.bundle.tokenizer;
  const modelText = input.model.tokenizerText;
  const modelSummary = input.model.folder.tokenizer;
  if (!bundled) {
    return {
      ...base,
      status: input.bundle.kind === 'tflite' ? 'warn' : 'fail',
      explanation: input.bundle.kind === 'tflite' ? 'A bare .tflite carries no tokenizer, so the one shipped beside it must be the model\'s tokenizer.json.' : 'The bundle has no tokenizer section, so the runtime cannot tokenize prompts.',
      evidence: [],
      fix: input.bundle.kind === 'tflite' ? null : "Re-package with the model's tokenizer.json.",
      fixableByMetadata: false,
    };
  }
  if (bundled.kind === 'sentencepiece') {
    const modelCount = modelSummary?.kind === 'hf-json' ? modelSummary.vocabSize : modelSummary?.kind === 'sentencepiece' ? modelSummary.pieceCount : null;
    const same = modelSummary?.kind === 'sentencepiece' && modelSummary.sha256 === bundled.summary.sha256;
    return {
      ...base,
      status: same ? 'pass' : 'warn',
      explanation: same
        ? 'The bundle carries the model\'s own SentencePiece model, byte for byte.'
        : `The bundle carries a SentencePiece model (${bundled.summary.pieceCount} pieces) while the model folder has ${modelSummary?.kind === 'hf-json' ? 'a tokenizer.json' : 'a different tokenizer'}${modelCount !== null ? ` (${modelCount} tokens)` : ''}, so equality cannot be proven.`,
      evidence: [
        { label: 'bundle', value: `SentencePiece, ${bundled.summary.pieceCount} pieces, sha256 ${bundled.summary.sha256.slice(0, 16)}…` },
        { label: 'model', value: modelSummary ? `${modelSummary.kind}, sha256 ${modelSummary.sha256.slice(0, 16)}…` : '(none)' },
      ],
      fix: same ? null : "Package the model's tokenizer.json (HF_Tokenizer_Zlib section) instead.",
      fixableByMetadata: false,
    };
  }
  if (!modelText) {
    return {
      ...base,
      status: 'warn',
      explanation: 'The model folder has no tokenizer.json to compare the bundle\'s tokenizer with.',
      evidence: [{ label: 'bundle', value: `tokenizer.json, ${bundled.summary.vocabSize} tokens` }],
      fix: null,
      fixableByMetadata: false,
    };
  }
  const diffs = tokenizerDifferences(modelText, bundled.text);
  const evidence: Evidence[] = [
    { label: 'model', value: `${modelSummary?.kind === 'hf-json' ? `${modelSummary.vocabSize} tokens, ${modelSummary.mergesCount ?? 0} merges, ` : ''}sha256 ${modelSummary?.sha256.slice(0, 16) ?? '?'}…` },
    { label: 'bundle', value: `${bundled.summary.vocabSize} tokens, ${bundled.summary.mergesCount ?? 0} merges, sha256 ${bundled.summary.sha256.slice(0, 16)}…` },
    ...diffs.map((d) => ({ label: 'difference', value: d })),
  ];
  return {
    ...base,
    status: diffs.length > 0 ? 'fail' : 'pass',
    explanation:
      diffs.length > 0
        ? `The bundle's tokenizer is not the model's: ${diffs[0]}.`
        : modelSummary?.kind === 'hf-json' && modelSummary.sha256 === bundled.summary.sha256
          ? "The bundle carries the model's tokenizer.json byte for byte."
          : "The bundle's tokenizer has the model's vocabulary, merges, added tokens and pre-processing (the files differ only in formatting).",
    evidence,
    fix: diffs.length > 0 ? "Re-package with the model folder's tokenizer.json (workbench package)." : null,
    fixableByMetadata: false,
  };
}

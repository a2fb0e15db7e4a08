/**
 * What the fidelity checks look at: the model side (the HF folder: what the
 * model was trained and released to expect) and the bundle side (what the
 * LiteRT-LM runtime will actually use), already read and tokenizer-ready so
 * each check is a pure function of this input. load.ts builds it from paths.
 */
import type { HfFolderSummary, HfTokenizerSummary, LlmMetadataJson, SentencePieceSummary, TfliteSummary, TokenUnionJson } from '../../common/formats.js';
import type { HfTokenizer } from '../tokenizer/hfTokenizer.js';
import type { Renderer, TemplateVars } from './templates.js';

export interface ModelSide {
  dir: string;
  folder: HfFolderSummary;
  /** The model's tokenizer.json as an encoder; null when absent or not reproducible. */
  tokenizer: HfTokenizer | null;
  /** Why `tokenizer` is null (one sentence), when it is. */
  tokenizerProblem: string | null;
  /** tokenizer.json text, for comparison with the bundle's. */
  tokenizerText: string | null;
  chatTemplate: string | null;
  /** bos_token / eos_token strings as transformers passes them to the template. */
  vars: TemplateVars;
  /** The chat template as transformers renders it; null without a template or when it does not parse. */
  render: Renderer | null;
  renderProblem: string | null;
}

export type BundleTokenizer =
  | { kind: 'hf-json'; text: string; summary: HfTokenizerSummary; tokenizer: HfTokenizer | null }
  | { kind: 'sentencepiece'; summary: SentencePieceSummary };

export interface BundleSide {
  path: string;
  kind: 'litertlm' | 'tflite';
  /** Decoded LlmMetadata; null when the bundle has no metadata section. */
  metadata: LlmMetadataJson | null;
  tokenizer: BundleTokenizer | null;
  tflite: TfliteSummary | null;
}

export interface AnalysisInput {
  model: ModelSide;
  bundle: BundleSide;
  intendedContext: number | null;
}

/** A metadata token (id list or string) resolved against a tokenizer. */
export interface ResolvedToken {
  /** How the metadata states it: `"<|im_end|>"` or `ids [151645]`. */
  label: string;
  /** Ids it stands for; null when a string is not a single token of the tokenizer. */
  ids: number[] | null;
  /** Decoded text of the ids (or the string itself). */
  text: string;
  /** One sentence when the token does not exist in the tokenizer. */
  problem: string | null;
}

export function describeTokenUnion(token: TokenUnionJson): string {
  return 'tokenStr' in token ? JSON.stringify(token.tokenStr) : `ids [${token.tokenIds.ids.join(', ')}]`;
}

/**
 * Resolves a TokenUnion the way the runtime does: a string must be one token
 * of the tokenizer (an added token or a vocabulary entry), ids must exist.
 */
export function resolveToken(token: TokenUnionJson, tokenizer: HfTokenizer | null): ResolvedToken {
  const label = describeTokenUnion(token);
  if ('tokenStr' in token) {
    const str = token.tokenStr;
    if (!tokenizer) return { label, ids: null, text: str, problem: null };
    const id = tokenizer.tokenToId(str) ?? singleTokenId(tokenizer, str);
    if (id === null) {
      const pieces = tokenizer.encode(str);
      return { label, ids: null, text: str, problem: `${JSON.stringify(str)} is not a token of the tokenizer (it splits into ${pieces.length} tokens).` };
    }
    return { label, ids: [id], text: str, problem: null };
  }
  const ids = token.tokenIds.ids;
  if (!tokenizer) return { label, ids, text: label, problem: null };
  const unknown = ids.filter((id) => tokenizer.idToTokenString(id) === null);
  if (unknown.length > 0) {
    return { label, ids, text: label, problem: `id(s) ${unknown.join(', ')} are outside the tokenizer's vocabulary of ${tokenizer.vocabSize}.` };
  }
  return { label, ids, text: tokenizer.decode(ids), problem: null };
}

/** A plain string such as "\n" is a token when it encodes to exactly one id. */
function singleTokenId(tokenizer: HfTokenizer, text: string): number | null {
  const ids = tokenizer.encode(text);
  return ids.length === 1 ? ids[0]! : null;
}

/** Whether an id is an added token (special markup) rather than ordinary vocabulary text. */
export function isAddedToken(tokenizer: HfTokenizer, id: number): boolean {
  const str = tokenizer.idToTokenString(id);
  return str !== null && tokenizer.addedToken(str)?.id === id;
}

/** Visible form of text in evidence: escapes newlines and clips long strings. */
export function show(text: string, max = 200): string {
  const json = JSON.stringify(text);
  return json.length > max ? `${json.slice(0, max - 1)}…"` : json;
}

/**
 * Summary of a Hugging Face `tokenizer.json` (from a model folder or inflated
 * out of a .litertlm HF_Tokenizer_Zlib section): model type, vocabulary size,
 * merges, added/special tokens and a content hash, so two tokenizers can be
 * compared at a glance. The full parsed JSON is returned alongside for callers
 * (the fidelity analyzer) that need the vocabulary itself.
 */
import { createHash } from 'node:crypto';
import { FormatErrorCode } from '../../common/formats.js';
import type { AddedToken, HfTokenizerSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { RecentCache } from '../recentCache.js';

/** The parts of tokenizer.json the workbench reads; everything else is kept as unknown. */
export interface HfTokenizerJson {
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  model?: {
    type?: string;
    vocab?: Record<string, number> | Array<[string, number]>;
    merges?: unknown[];
  };
  pre_tokenizer?: unknown;
  decoder?: unknown;
  [key: string]: unknown;
}

export interface ParsedHfTokenizer {
  summary: HfTokenizerSummary;
  json: HfTokenizerJson;
}

/**
 * Parses and summarises tokenizer.json bytes. `source` names the file in
 * error messages ("tokenizer.json in /models/qwen", "section 0 of x.litertlm").
 */
export function parseHfTokenizer(bytes: Uint8Array, source: string): ParsedHfTokenizer {
  // One behaviour check reads the same tokenizer from the model folder and from the bundle (and the
  // runtime facts once more): JSON.parse of an 11 MB Qwen tokenizer.json is ~0.4 s each time.
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return parsed.get(sha256) ?? parsed.set(sha256, parseUncached(bytes, source, sha256));
}

/** tokenizer.json parsed by parseHfTokenizer, by the sha256 of its bytes, if still cached (the encoder reuses it). */
export function parsedTokenizerJson(sha256: string): HfTokenizerJson | undefined {
  return parsed.get(sha256)?.json;
}

/** The last few parsed tokenizers by content hash; callers treat `json` as read-only. */
const parsed = new RecentCache<string, ParsedHfTokenizer>(2);

function parseUncached(bytes: Uint8Array, source: string, sha256: string): ParsedHfTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: false }).decode(bytes));
  } catch (error) {
    throw new WorkbenchError(FormatErrorCode.badJson, `The tokenizer in ${source} is not valid JSON (${(error as Error).message}).`, { source });
  }
  if (!isObject(json) || !isObject(json.model)) {
    throw new WorkbenchError(FormatErrorCode.badJson, `The tokenizer in ${source} has no "model" object, so it is not a Hugging Face tokenizer.json.`, { source });
  }
  const tok = json as HfTokenizerJson;
  const model = tok.model ?? {};
  // Shapes every reader relies on; a wrong one is a broken file, said once here rather than as a TypeError later.
  if (model.vocab !== undefined && !isObject(model.vocab) && !Array.isArray(model.vocab)) {
    throw new WorkbenchError(FormatErrorCode.badJson, `The tokenizer in ${source} has a "model.vocab" that is neither a token → id object nor a list; use the tokenizer.json saved with the model.`, { source });
  }
  if (model.merges !== undefined && model.merges !== null && !Array.isArray(model.merges)) {
    throw new WorkbenchError(FormatErrorCode.badJson, `The tokenizer in ${source} has "model.merges" of ${JSON.stringify(model.merges).slice(0, 40)}, not a list of merges; use the tokenizer.json saved with the model.`, { source });
  }
  if (tok.added_tokens !== undefined && !Array.isArray(tok.added_tokens)) {
    throw new WorkbenchError(FormatErrorCode.badJson, `The tokenizer in ${source} has "added_tokens" that is not a list; use the tokenizer.json saved with the model.`, { source });
  }
  const ids = new Set<number>();
  let baseVocabSize = 0;
  if (Array.isArray(model.vocab)) {
    // Unigram: [[piece, score], ...], the id is the index.
    baseVocabSize = model.vocab.length;
    for (let i = 0; i < model.vocab.length; i++) ids.add(i);
  } else if (isObject(model.vocab)) {
    for (const id of Object.values(model.vocab)) {
      if (typeof id === 'number') ids.add(id);
      baseVocabSize++;
    }
  }
  const addedTokens: AddedToken[] = [];
  for (const token of Array.isArray(tok.added_tokens) ? tok.added_tokens : []) {
    if (!isObject(token) || typeof token.id !== 'number' || typeof token.content !== 'string') continue;
    addedTokens.push({ id: token.id, content: token.content, special: token.special === true });
    ids.add(token.id);
  }
  addedTokens.sort((a, b) => a.id - b.id);
  return {
    json: tok,
    summary: {
      kind: 'hf-json',
      modelType: typeof model.type === 'string' ? model.type : null,
      vocabSize: ids.size,
      baseVocabSize,
      mergesCount: Array.isArray(model.merges) ? model.merges.length : null,
      byteLevel: mentionsByteLevel(tok.pre_tokenizer) || mentionsByteLevel(tok.decoder),
      addedTokens,
      sizeBytes: bytes.byteLength,
      sha256,
    },
  };
}

/** True when a pre-tokenizer/decoder (or a Sequence of them) is ByteLevel. */
function mentionsByteLevel(node: unknown): boolean {
  if (!isObject(node)) return false;
  if (node.type === 'ByteLevel') return true;
  for (const key of ['pretokenizers', 'decoders'] as const) {
    const list = node[key];
    if (Array.isArray(list) && list.some(mentionsByteLevel)) return true;
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

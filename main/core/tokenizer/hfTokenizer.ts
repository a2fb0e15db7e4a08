/**
 * The workbench's encoder/decoder for Hugging Face `tokenizer.json` files: a
 * thin adapter over Hugging Face's own Tokenizers.js (`@huggingface/tokenizers`),
 * which reproduces the Rust `tokenizers` pipeline (added tokens split out
 * first, then normalizer, pre-tokenizer, BPE with byte fallback, decoder).
 * The fidelity analyzer, evaluate and the bundle runner need token ids, not
 * just strings: two prompt templates that render the same characters can
 * still tokenize differently at a boundary, and the runtime only ever sees ids.
 *
 * What this adapter adds to the library:
 * - one WorkbenchError sentence for a broken or unsupported file (the library
 *   throws TypeErrors on malformed JSON shapes such as `"merges": "x"`);
 * - a refusal of the few settings the library does not reproduce exactly
 *   (see `unsupportedSetting`), so a wrong id is never reported as a finding;
 * - Rust's notion of a digit in the Digits pre-tokenizer (`fixDigits`);
 * - the Rust rule that an added token whose content is already a vocabulary
 *   entry takes that entry's id (the library keeps the declared id);
 * - `encode` never adds BOS/EOS (no post-processor), like
 *   `encode(text, add_special_tokens=False)`; `decode` does no
 *   `clean_up_tokenization_spaces` rewriting, like the Rust library.
 */
import { createHash } from 'node:crypto';
import { DigitsPreTokenizer, SequencePreTokenizer, Tokenizer } from '@huggingface/tokenizers';
import type { PreTokenizer } from '@huggingface/tokenizers';
import { WorkbenchError } from '../../common/errors.js';
import { parsedTokenizerJson } from '../formats/hfTokenizer.js';
import { RecentCache } from '../recentCache.js';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

type Json = Record<string, unknown>;

/** Far above any real vocabulary (Gemma 3 has 262,144 tokens); a larger id is a broken file. */
const MAX_TOKEN_ID = 2 ** 24;

/** Model types the workbench accepts; the others are not checked against the Rust library. */
const SUPPORTED_MODELS = new Set(['BPE']);

/** The encoders HfTokenizer.shared keeps, by the text's sha256. */
const sharedEncoders = new RecentCache<string, HfTokenizer>(3);

export class HfTokenizer {
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly idCount: number;

  private constructor(private readonly inner: Tokenizer) {
    for (const t of inner.get_added_tokens_decoder().values()) {
      this.addedByContent.set(t.content, {
        id: t.id,
        content: t.content,
        special: t.special,
        lstrip: t.lstrip,
        rstrip: t.rstrip,
        singleWord: t.single_word,
        normalized: t.normalized,
      });
    }
    this.idCount = checkIds(inner);
  }

  /**
   * The encoder for a tokenizer.json text, kept by content hash. Building one
   * from the 11 MB Qwen tokenizer.json takes most of a second; a behaviour
   * check needs the model's and the bundle's (usually the same text) and the
   * runtime facts', the app the same model again on check, fix, re-check. An
   * encoder keeps no state between calls, so one is safely shared.
   */
  static shared(text: string): HfTokenizer {
    const key = createHash('sha256').update(text).digest('hex');
    const hit = sharedEncoders.get(key);
    if (hit) return hit;
    // The same text parsed a moment ago for its summary (formats/hfTokenizer.ts) is not parsed twice.
    const parsed = parsedTokenizerJson(key);
    return sharedEncoders.set(key, parsed ? HfTokenizer.fromParsed(parsed) : HfTokenizer.fromJson(text));
  }

  /** Parses `tokenizer.json` text; bad JSON or an unsupported model is a WorkbenchError. */
  static fromJson(text: string): HfTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new WorkbenchError('tokenizer_invalid', `tokenizer.json is not valid JSON (${(error as Error).message}); use the file saved by the model's tokenizer.`);
    }
    return HfTokenizer.fromParsed(json);
  }

  /** Builds the encoder from tokenizer.json already parsed (read, never changed). */
  static fromParsed(json: unknown): HfTokenizer {
    const prepared = prepare(json);
    let inner: Tokenizer;
    try {
      inner = new Tokenizer(prepared, {});
    } catch (error) {
      // The shapes are validated above, so what is left is a component the library does not know.
      throw new WorkbenchError('tokenizer_unsupported', `The tokenizer cannot be loaded by the workbench's tokenizer (${(error as Error).message}).`);
    }
    fixDigits(inner.pre_tokenizer);
    return new HfTokenizer(inner);
  }

  /** Number of distinct token ids (vocabulary and added tokens). */
  get vocabSize(): number {
    return this.idCount;
  }

  /** The id of a token string (vocabulary entry or added token), or null. */
  tokenToId(token: string): number | null {
    return this.addedByContent.get(token)?.id ?? this.inner.token_to_id(token) ?? null;
  }

  /** The string of a token id, as stored in the vocabulary (byte-level form), or null. */
  idToTokenString(id: number): string | null {
    if (!Number.isInteger(id) || id < 0) return null;
    return this.inner.id_to_token(id) ?? null;
  }

  addedToken(content: string): AddedToken | null {
    return this.addedByContent.get(content) ?? null;
  }

  /** Token ids of `text` without post-processing (no BOS/EOS), like `add_special_tokens=False`. */
  encode(text: string): number[] {
    const { ids, tokens } = this.inner.encode(text, { add_special_tokens: false });
    const missing = ids.findIndex((id) => id === undefined);
    if (missing >= 0) {
      throw new WorkbenchError('tokenizer_unknown_symbol', `The symbol ${JSON.stringify(tokens[missing])} is not in the vocabulary and the tokenizer's unknown token is not either.`);
    }
    return ids;
  }

  /** Text of `ids`; special tokens are kept unless `skipSpecial`. */
  decode(ids: readonly number[], skipSpecial = false): string {
    for (const id of ids) {
      if (this.idToTokenString(id) === null) throw new WorkbenchError('tokenizer_unknown_id', `Token id ${id} is not in the tokenizer's vocabulary (size ${this.vocabSize}).`);
    }
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }
}

/**
 * Checks that every id of the vocabulary and added tokens is a token id and
 * counts the distinct ids. Done on the library's own map, which saves a
 * separate pass over the ~150k-entry vocabulary before loading.
 */
function checkIds(inner: Tokenizer): number {
  const ids = new Set<number>();
  for (const [token, id] of inner.model!.tokens_to_ids) {
    if (!Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) throw invalid(`maps the token ${JSON.stringify(token)} to ${JSON.stringify(id)}, not a token id`);
    ids.add(id);
  }
  return ids.size;
}

function invalid(what: string): WorkbenchError {
  return new WorkbenchError('tokenizer_invalid', `tokenizer.json ${what}; use the file saved by the model's tokenizer.`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the shapes the library would otherwise trip over with a TypeError
 * and returns the object to hand it: the components it reads, an empty
 * post-processor (we never add special tokens) and added-token ids resolved
 * like the Rust library does.
 */
function prepare(json: unknown): Json {
  if (!isObject(json)) throw invalid('does not hold a JSON object');
  const model = json.model;
  if (model === undefined || model === null) throw invalid('has no "model" section');
  if (!isObject(model)) throw invalid('has a "model" that is not an object');
  // Old files omit the type; BPE is the model with merges.
  const type = typeof model.type === 'string' ? model.type : model.merges !== undefined ? 'BPE' : undefined;
  if (type === undefined || !SUPPORTED_MODELS.has(type)) {
    throw new WorkbenchError('tokenizer_unsupported', `The tokenizer model is ${type ?? 'of no declared type'}; only BPE tokenizer.json files (Qwen, Llama 3, SmolLM, Gemma and the like) can be tokenized by the workbench.`);
  }
  const vocab = model.vocab;
  // Each entry's id is checked once the library has built its map (checkIds), saving a pass over the vocabulary.
  if (!isObject(vocab)) throw invalid('has no "model.vocab" object of token → id');
  const merges = model.merges;
  if (!Array.isArray(merges)) throw invalid(`has "model.merges" ${merges === undefined ? 'missing' : `of ${JSON.stringify(merges).slice(0, 40)}`}, not a list of merges`);
  for (const m of merges) {
    const ok = typeof m === 'string' ? m.indexOf(' ', 1) > 0 : Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string';
    if (!ok) throw invalid(`has a malformed merge ${JSON.stringify(m).slice(0, 60)}`);
  }
  if (typeof model.unk_token !== 'string' && model.unk_token != null) throw invalid('has a "model.unk_token" that is not a string');

  for (const key of ['normalizer', 'pre_tokenizer', 'decoder'] as const) {
    const part = json[key];
    if (part !== undefined && part !== null && !(isObject(part) && typeof part.type === 'string')) throw invalid(`has a "${key}" that is not a component with a "type"`);
  }

  const declared = json.added_tokens ?? [];
  if (!Array.isArray(declared)) throw invalid('has "added_tokens" that is not a list');
  const addedTokens = declared.map((t: unknown) => {
    if (!isObject(t) || typeof t.content !== 'string' || !Number.isInteger(t.id)) throw invalid(`has a malformed added token ${JSON.stringify(t).slice(0, 60)}`);
    // Like the Rust library, an added token whose content is already a
    // vocabulary entry takes that entry's id, whatever id the file declares.
    return { ...t, id: Object.hasOwn(vocab, t.content) ? vocab[t.content] : t.id };
  });

  const prepared: Json = {
    ...json,
    model: { ...model, type },
    added_tokens: addedTokens,
    normalizer: json.normalizer ?? null,
    pre_tokenizer: json.pre_tokenizer ?? null,
    post_processor: null,
    decoder: json.decoder ?? null,
  };
  const patternProblem = missingPattern(prepared);
  if (patternProblem) throw invalid(patternProblem);
  const refusal = unsupportedSetting(prepared, vocab);
  if (refusal) throw new WorkbenchError('tokenizer_unsupported', `The tokenizer uses ${refusal}, which the workbench's tokenizer does not reproduce exactly.`);
  return prepared;
}

/**
 * Settings Tokenizers.js 0.2.0 does not reproduce like the Rust library
 * (read from its sources), named so they can be refused rather than
 * approximated. Returns null when the file is fine.
 */
function unsupportedSetting(json: Json, vocab: Json): string | null {
  const model = json.model as Json;
  if (model.continuing_subword_prefix || model.end_of_word_suffix) return 'BPE subword prefixes or suffixes';
  for (const t of json.added_tokens as Json[]) {
    // The library ignores single_word: the token would also match inside words.
    if (t.single_word === true) return `the single_word added token ${JSON.stringify(t.content)}`;
  }
  const normalizerProblem = walk(json.normalizer, 'normalizers', (n) => {
    const content = n.content;
    // The library passes Replace's content to String.replaceAll, where "$&" and the like are patterns.
    if (n.type === 'Replace' && typeof content === 'string' && content.includes('$')) return 'a Replace normalizer whose replacement contains "$"';
    return null;
  });
  if (normalizerProblem) return normalizerProblem;
  return walk(json.pre_tokenizer, 'pretokenizers', (p) => {
    if (p.type === 'Split') {
      const behavior = String(p.behavior ?? 'Isolated');
      if (p.invert === true) return 'an inverted Split pre-tokenizer';
      if (behavior === 'Isolated' || behavior === 'Removed') return null;
      // A split on a string the normalizer has already replaced everywhere
      // never matches, whatever its behaviour: Gemma's Split(" ",
      // MergedWithPrevious) after Replace(" " → "▁") is such a no-op.
      if (splitNeverMatches(p, json.normalizer)) return null;
      return `the Split behaviour ${behavior}`;
    }
    if (p.type === 'Metaspace' && p.split !== false) {
      // Rust's Metaspace with split=true cuts before every "▁"; the library
      // never cuts. That is the same as long as no merge can join across a
      // "▁", i.e. no vocabulary entry has a "▁" after its first character.
      const replacement = typeof p.replacement === 'string' ? p.replacement : '\u2581';
      for (const token in vocab) if (token.indexOf(replacement, 1) > 0) return `a splitting Metaspace pre-tokenizer with the word-crossing token ${JSON.stringify(token)}`;
    }
    return null;
  });
}

/**
 * A Split or Replace needs a `{String}` or `{Regex}` pattern: without one the
 * library warns on the console and its Split then drops the whole text.
 */
function missingPattern(json: Json): string | null {
  const check = (c: Json): string | null => {
    if (c.type !== 'Split' && c.type !== 'Replace') return null;
    const pattern = c.pattern;
    const ok = isObject(pattern) && (typeof pattern.String === 'string' || typeof pattern.Regex === 'string');
    return ok ? null : `has a ${String(c.type)} step without a {"String"} or {"Regex"} pattern`;
  };
  return walk(json.normalizer, 'normalizers', check) ?? walk(json.pre_tokenizer, 'pretokenizers', check) ?? walk(json.decoder, 'decoders', check);
}

/** Applies `check` to a component and, for a Sequence, to each of its members. */
function walk(spec: unknown, listKey: string, check: (c: Json) => string | null): string | null {
  if (!isObject(spec)) return null;
  if (spec.type === 'Sequence') {
    for (const member of Array.isArray(spec[listKey]) ? (spec[listKey] as unknown[]) : []) {
      const problem = walk(member, listKey, check);
      if (problem) return problem;
    }
    return null;
  }
  return check(spec);
}

/** True when the normalizer ends by replacing every occurrence of the split's string with other text. */
function splitNeverMatches(split: Json, normalizer: unknown): boolean {
  const pattern = split.pattern as { String?: unknown } | undefined;
  if (typeof pattern?.String !== 'string' || pattern.String.length === 0) return false;
  const steps = isObject(normalizer) ? (normalizer.type === 'Sequence' ? (normalizer.normalizers as unknown[] | undefined) ?? [] : [normalizer]) : [];
  const last = steps[steps.length - 1];
  if (!isObject(last) || last.type !== 'Replace') return false;
  const replaced = (last.pattern as { String?: unknown } | undefined)?.String;
  return replaced === pattern.String && typeof last.content === 'string' && !last.content.includes(pattern.String);
}

/**
 * Tokenizers.js 0.2.0 splits digits with JavaScript's `\d` (ASCII 0-9 only);
 * the Rust Digits pre-tokenizer uses `char::is_numeric` (Unicode Nd, Nl, No:
 * "٣", "½", "²", "Ⅻ", "①"), so " ٣" must give " " and "٣", not one piece.
 * Found comparing with the former hand-written tokenizer on SmolLM's
 * tokenizer (Digits + ByteLevel). `\p{N}` is exactly Nd | Nl | No.
 */
function fixDigits(pre: PreTokenizer | null): void {
  if (pre instanceof SequencePreTokenizer) for (const member of pre.tokenizers) fixDigits(member);
  if (pre instanceof DigitsPreTokenizer) pre.pattern = pre.config.individual_digits ? /[^\p{N}]+|\p{N}/gu : /[^\p{N}]+|\p{N}+/gu;
}

/**
 * A faithful encoder/decoder for Hugging Face `tokenizer.json` files with a
 * BPE model (byte-level BPE: Qwen, Llama 3, GPT-2, SmolLM). The fidelity
 * analyzer needs token ids, not just strings: two prompt templates that
 * render the same characters can still tokenize differently at a boundary,
 * and the runtime only ever sees ids. Order follows the Rust library: added
 * tokens are split out first (leftmost-longest), the rest is normalized,
 * pre-tokenized, and each piece is merged by BPE rank.
 */
import { WorkbenchError } from '../../common/errors.js';
import { fromByteLevel } from './byteLevel.js';
import { compileNormalizer, compilePreTokenizer } from './pretokenize.js';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

interface TokenizerJson {
  added_tokens?: Array<{
    id: number;
    content: string;
    special?: boolean;
    lstrip?: boolean;
    rstrip?: boolean;
    single_word?: boolean;
    normalized?: boolean;
  }>;
  normalizer?: { type?: string } | null;
  pre_tokenizer?: { type?: string } | null;
  decoder?: { type?: string } | null;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    merges?: Array<string | [string, string]>;
    unk_token?: string | null;
    continuing_subword_prefix?: string | null;
    end_of_word_suffix?: string | null;
    byte_fallback?: boolean;
    ignore_merges?: boolean;
  };
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const WHITESPACE = /\s/u;

export class HfTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly addedTokens: readonly AddedToken[];
  /** Merges in rank order, each as [left, right]. */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  private readonly idToToken = new Map<number, string>();
  private readonly mergeRank = new Map<string, number>();
  private readonly addedByContent = new Map<string, AddedToken>();
  /** Added tokens by first character, longest first; [raw-text tokens, normalized tokens]. */
  private readonly addedByFirstChar: [Map<string, AddedToken[]>, Map<string, AddedToken[]>] = [new Map(), new Map()];
  private readonly normalize: (text: string) => string;
  private readonly preTokenize: (splits: string[]) => string[];
  private readonly decodeByteLevel: boolean;
  private readonly unkToken: string | null;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, number[]>();

  private constructor(json: TokenizerJson) {
    const model = json.model;
    if (!model || (model.type !== undefined && model.type !== 'BPE') || !model.vocab || !model.merges) {
      throw new WorkbenchError('tokenizer_unsupported', `The tokenizer model is ${model?.type ?? 'missing'}; only BPE tokenizer.json files can be tokenized by the workbench.`);
    }
    if (model.continuing_subword_prefix || model.end_of_word_suffix || model.byte_fallback) {
      throw new WorkbenchError('tokenizer_unsupported', 'The tokenizer uses BPE subword prefixes, suffixes or byte fallback, which the workbench does not reproduce exactly.');
    }
    this.vocab = new Map(Object.entries(model.vocab));
    for (const [token, id] of this.vocab) this.idToToken.set(id, token);
    this.merges = model.merges.map((m) => (typeof m === 'string' ? splitLegacyMerge(m) : ([m[0], m[1]] as const)));
    this.merges.forEach(([left, right], rank) => {
      const key = pairKey(left, right);
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank);
    });
    this.unkToken = model.unk_token ?? null;
    this.ignoreMerges = model.ignore_merges === true;

    // Like the Rust library, an added token whose content is already a
    // vocabulary entry takes that entry's id, whatever id the file declares.
    this.addedTokens = (json.added_tokens ?? []).map((t) => ({
      id: this.vocab.get(t.content) ?? t.id,
      content: t.content,
      special: t.special === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      singleWord: t.single_word === true,
      normalized: t.normalized === true,
    }));
    for (const t of this.addedTokens) {
      this.idToToken.set(t.id, t.content);
      this.addedByContent.set(t.content, t);
      if (t.content.length === 0) continue;
      // Special tokens are always matched on the raw text, others on the
      // normalized text when their `normalized` flag says so.
      const index = this.addedByFirstChar[t.normalized && !t.special ? 1 : 0];
      const first = t.content[0]!;
      const list = index.get(first) ?? [];
      list.push(t);
      index.set(first, list);
    }
    // Longest first so the first hit at a position is the longest one.
    for (const index of this.addedByFirstChar) for (const list of index.values()) list.sort((a, b) => b.content.length - a.content.length);

    this.normalize = compileNormalizer(json.normalizer);
    const pre = compilePreTokenizer(json.pre_tokenizer);
    this.preTokenize = pre.run;
    this.decodeByteLevel = json.decoder?.type === 'ByteLevel' || (json.decoder == null && pre.byteLevel);
  }

  /** Parses `tokenizer.json` text; bad JSON or an unsupported model is a WorkbenchError. */
  static fromJson(text: string): HfTokenizer {
    let json: TokenizerJson;
    try {
      json = JSON.parse(text) as TokenizerJson;
    } catch (error) {
      throw new WorkbenchError('tokenizer_invalid', `tokenizer.json is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof json !== 'object' || json === null) throw new WorkbenchError('tokenizer_invalid', 'tokenizer.json does not hold a JSON object.');
    return new HfTokenizer(json);
  }

  get vocabSize(): number {
    return this.idToToken.size;
  }

  /** The id of a token string (vocabulary entry or added token), or null. */
  tokenToId(token: string): number | null {
    return this.addedByContent.get(token)?.id ?? this.vocab.get(token) ?? null;
  }

  /** The string of a token id, as stored in the vocabulary (byte-level form), or null. */
  idToTokenString(id: number): string | null {
    return this.idToToken.get(id) ?? null;
  }

  addedToken(content: string): AddedToken | null {
    return this.addedByContent.get(content) ?? null;
  }

  /** Token ids of `text` without post-processing (no BOS/EOS), like `add_special_tokens=False`. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const raw of this.splitAddedTokens(text, 0)) {
      if (typeof raw !== 'string') {
        ids.push(raw.id);
        continue;
      }
      for (const segment of this.splitAddedTokens(this.normalize(raw), 1)) {
        if (typeof segment !== 'string') {
          ids.push(segment.id);
          continue;
        }
        for (const piece of this.preTokenize([segment])) {
          if (piece.length > 0) ids.push(...this.bpe(piece));
        }
      }
    }
    return ids;
  }

  /** Text of `ids`; special tokens are kept unless `skipSpecial`. */
  decode(ids: readonly number[], skipSpecial = false): string {
    const chunks: Uint8Array[] = [];
    let pending = '';
    const flush = (): void => {
      if (pending) chunks.push(this.decodeByteLevel ? fromByteLevel(pending) : new TextEncoder().encode(pending));
      pending = '';
    };
    for (const id of ids) {
      const token = this.idToToken.get(id);
      if (token === undefined) throw new WorkbenchError('tokenizer_unknown_id', `Token id ${id} is not in the tokenizer's vocabulary (size ${this.vocabSize}).`);
      const added = this.addedByContent.get(token);
      if (added && added.id === id) {
        if (added.special && skipSpecial) continue;
        flush();
        chunks.push(new TextEncoder().encode(token));
      } else {
        pending += token;
      }
    }
    flush();
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return utf8Decoder.decode(bytes);
  }

  /**
   * Splits text into plain segments and added tokens, leftmost-longest, with
   * each token's lstrip/rstrip (swallow neighbouring whitespace) and
   * single_word (only between word boundaries) rules.
   */
  private splitAddedTokens(text: string, pass: 0 | 1): Array<string | AddedToken> {
    const out: Array<string | AddedToken> = [];
    let plainStart = 0;
    let i = 0;
    while (i < text.length) {
      const match = this.addedTokenAt(text, i, pass);
      if (!match) {
        i++;
        continue;
      }
      let start = i;
      let end = i + match.content.length;
      if (match.lstrip) while (start > plainStart && WHITESPACE.test(text[start - 1]!)) start--;
      if (match.rstrip) while (end < text.length && WHITESPACE.test(text[end]!)) end++;
      if (start > plainStart) out.push(text.slice(plainStart, start));
      out.push(match);
      plainStart = end;
      i = end;
    }
    if (plainStart < text.length) out.push(text.slice(plainStart));
    return out;
  }

  private addedTokenAt(text: string, at: number, pass: 0 | 1): AddedToken | null {
    const candidates = this.addedByFirstChar[pass].get(text[at]!);
    if (!candidates) return null;
    for (const t of candidates) {
      if (!text.startsWith(t.content, at)) continue;
      if (t.singleWord) {
        const before = at > 0 ? text[at - 1]! : '';
        const after = text[at + t.content.length] ?? '';
        if (/[\p{L}\p{N}_]/u.test(before) || /[\p{L}\p{N}_]/u.test(after)) continue;
      }
      return t;
    }
    return null;
  }

  /** BPE over one pre-tokenized piece (already in vocabulary alphabet). */
  private bpe(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let ids: number[];
    const whole = this.vocab.get(piece);
    if (this.ignoreMerges && whole !== undefined) {
      ids = [whole];
    } else {
      let symbols = Array.from(piece);
      while (symbols.length > 1) {
        let bestRank = Infinity;
        let bestAt = -1;
        for (let k = 0; k < symbols.length - 1; k++) {
          const rank = this.mergeRank.get(pairKey(symbols[k]!, symbols[k + 1]!));
          if (rank !== undefined && rank < bestRank) {
            bestRank = rank;
            bestAt = k;
          }
        }
        if (bestAt < 0) break;
        // Merge every occurrence of the best pair, left to right.
        const left = symbols[bestAt]!;
        const right = symbols[bestAt + 1]!;
        const merged: string[] = [];
        for (let k = 0; k < symbols.length; k++) {
          if (k < symbols.length - 1 && symbols[k] === left && symbols[k + 1] === right) {
            merged.push(left + right);
            k++;
          } else {
            merged.push(symbols[k]!);
          }
        }
        symbols = merged;
      }
      ids = symbols.map((s) => this.symbolId(s));
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  private symbolId(symbol: string): number {
    const id = this.vocab.get(symbol);
    if (id !== undefined) return id;
    const unk = this.unkToken === null ? undefined : this.tokenToId(this.unkToken);
    if (unk !== undefined && unk !== null) return unk;
    throw new WorkbenchError('tokenizer_unknown_symbol', `The symbol ${JSON.stringify(symbol)} is not in the vocabulary and the tokenizer has no unknown token.`);
  }
}

/**
 * Key of a merge pair. Newer tokenizer.json files store merges as pairs and
 * allow spaces inside symbols, so the two halves are joined with a character
 * no vocabulary uses.
 */
/** Older files store a merge as "left right"; symbols then never contain a space. */
function splitLegacyMerge(merge: string): readonly [string, string] {
  const at = merge.indexOf(' ', 1);
  if (at < 0) throw new WorkbenchError('tokenizer_invalid', `tokenizer.json has a malformed merge ${JSON.stringify(merge)}.`);
  return [merge.slice(0, at), merge.slice(at + 1)];
}

function pairKey(left: string, right: string): string {
  return `${left}\u0000${right}`;
}

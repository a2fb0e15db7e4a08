/**
 * Normalizers and pre-tokenizers of a Hugging Face `tokenizer.json`,
 * reimplemented for the kinds byte-level BPE models use (Qwen, Llama 3,
 * GPT-2, SmolLM). The fidelity analyzer tokenizes rendered prompts with the
 * model's own tokenizer, so these must split text exactly like the Rust
 * `tokenizers` library; anything we cannot reproduce exactly is refused with
 * `tokenizer_unsupported` rather than approximated.
 */
import { WorkbenchError } from '../../common/errors.js';
import { toByteLevel } from './byteLevel.js';

/** GPT-2's split pattern, used by ByteLevel when `use_regex` is true. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

function unsupported(what: string): WorkbenchError {
  return new WorkbenchError('tokenizer_unsupported', `The tokenizer uses ${what}, which the workbench's tokenizer does not reproduce exactly.`);
}

/**
 * Translates a pattern written for the Rust `tokenizers` regex engine
 * (Oniguruma syntax) into a JavaScript `u`-mode RegExp. Node 20 has no inline
 * modifier groups, so `(?i:'s|'t)` becomes `(?:'[sS]|'[tT])`; constructs with
 * no exact JavaScript equivalent (possessive quantifiers, atomic groups) are
 * refused.
 */
export function translatePattern(pattern: string): RegExp {
  let out = '';
  let classDepth = 0;
  // Paren depths at which a case-insensitive group was opened.
  const insensitiveAt: number[] = [];
  let parenDepth = 0;
  // Set right after a quantifier, where a '+' would make it possessive.
  let previousWasQuantifier = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (classDepth === 0 && ch !== '*' && ch !== '+' && ch !== '?') previousWasQuantifier = false;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw unsupported('a pattern ending in a backslash');
      if ((next === 'p' || next === 'P') && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) throw unsupported(`an unterminated \\p{...} in ${JSON.stringify(pattern)}`);
        out += pattern.slice(i, close + 1);
        i = close;
      } else {
        out += ch + next;
        i++;
      }
      continue;
    }
    if (classDepth > 0) {
      if (ch === '[') classDepth++;
      if (ch === ']') classDepth--;
      if (insensitiveAt.length > 0 && /[A-Za-z]/.test(ch)) throw unsupported('a case-insensitive character class');
      out += ch;
      continue;
    }
    if (ch === '[') {
      classDepth = 1;
      out += ch;
      // A leading ']' or '^]' is literal in Oniguruma; copy it without closing.
      if (pattern[i + 1] === '^') out += pattern[++i];
      if (pattern[i + 1] === ']') out += `\\${pattern[++i]}`;
      continue;
    }
    if (ch === '(') {
      parenDepth++;
      if (pattern.startsWith('(?i:', i)) {
        insensitiveAt.push(parenDepth);
        out += '(?:';
        i += 3;
        continue;
      }
      if (pattern.startsWith('(?>', i)) throw unsupported('an atomic group');
      out += ch;
      continue;
    }
    if (ch === ')') {
      if (insensitiveAt[insensitiveAt.length - 1] === parenDepth) insensitiveAt.pop();
      parenDepth--;
      out += ch;
      continue;
    }
    if (ch === '*' || ch === '+' || ch === '?') {
      if (ch === '+' && previousWasQuantifier) throw unsupported('a possessive quantifier');
      previousWasQuantifier = ch !== '?' || !previousWasQuantifier;
      out += ch;
      continue;
    }
    if (ch === '{') {
      const close = pattern.indexOf('}', i);
      if (close > 0 && /^\{\d*(,\d*)?\}$/.test(pattern.slice(i, close + 1))) {
        out += pattern.slice(i, close + 1);
        i = close;
        previousWasQuantifier = true;
        continue;
      }
    }
    if (insensitiveAt.length > 0 && /[A-Za-z]/.test(ch)) {
      out += `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
      continue;
    }
    out += ch;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (error) {
    throw unsupported(`a split pattern JavaScript cannot compile (${(error as Error).message})`);
  }
}

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/** One piece of text, tagged with whether it was a match of the pattern. */
interface Part {
  text: string;
  isMatch: boolean;
}

function partsOf(text: string, regex: RegExp, invert: boolean): Part[] {
  const parts: Part[] = [];
  let last = 0;
  regex.lastIndex = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0].length === 0) continue;
    const start = m.index;
    if (start > last) parts.push({ text: text.slice(last, start), isMatch: invert });
    parts.push({ text: m[0], isMatch: !invert });
    last = start + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), isMatch: invert });
  return parts;
}

/** The Rust library's `SplitDelimiterBehavior`, applied to one split. */
export function splitWith(text: string, regex: RegExp, behavior: SplitBehavior, invert = false): string[] {
  const parts = partsOf(text, regex, invert);
  switch (behavior) {
    case 'Isolated':
      return parts.map((p) => p.text);
    case 'Removed':
      return parts.filter((p) => !p.isMatch).map((p) => p.text);
    case 'MergedWithPrevious': {
      const out: string[] = [];
      let previousWasMatch = false;
      for (const p of parts) {
        if (p.isMatch && out.length > 0 && !previousWasMatch) out[out.length - 1] += p.text;
        else out.push(p.text);
        previousWasMatch = p.isMatch;
      }
      return out;
    }
    case 'MergedWithNext': {
      const out: string[] = [];
      let pending = '';
      for (const p of parts) {
        if (p.isMatch) {
          if (pending) out.push(pending);
          pending = p.text;
        } else {
          out.push(pending + p.text);
          pending = '';
        }
      }
      if (pending) out.push(pending);
      return out;
    }
    case 'Contiguous': {
      const out: string[] = [];
      let previousWasMatch = false;
      for (const p of parts) {
        if (p.isMatch && previousWasMatch && out.length > 0) out[out.length - 1] += p.text;
        else out.push(p.text);
        previousWasMatch = p.isMatch;
      }
      return out;
    }
  }
}

/** A compiled pre-tokenizer: turns the splits so far into finer splits. */
export type PreTokenizer = (splits: string[]) => string[];

interface PreTokenizerSpec {
  type?: string;
  [key: string]: unknown;
}

function patternOf(spec: PreTokenizerSpec): RegExp {
  const pattern = spec.pattern as { Regex?: string; String?: string } | undefined;
  if (pattern?.Regex !== undefined) return translatePattern(pattern.Regex);
  if (pattern?.String !== undefined) return new RegExp(escapeLiteral(pattern.String), 'gu');
  throw unsupported('a Split pre-tokenizer without a pattern');
}

/**
 * Builds the pre-tokenizer pipeline from `tokenizer.json`'s `pre_tokenizer`.
 * Byte-level tokenizers end with a ByteLevel step, after which every split is
 * already in byte-level characters (`byteLevel` in the result tells BPE not to
 * map again).
 */
export function compilePreTokenizer(spec: PreTokenizerSpec | null | undefined): { run: PreTokenizer; byteLevel: boolean } {
  if (!spec) return { run: (splits) => splits, byteLevel: false };
  switch (spec.type) {
    case 'Sequence': {
      const steps = ((spec.pretokenizers as PreTokenizerSpec[] | undefined) ?? []).map((s) => compilePreTokenizer(s));
      return {
        run: (splits) => steps.reduce((acc, step) => step.run(acc), splits),
        byteLevel: steps.some((s) => s.byteLevel),
      };
    }
    case 'Split': {
      const regex = patternOf(spec);
      const behavior = (spec.behavior as SplitBehavior | undefined) ?? 'Isolated';
      if (!['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].includes(behavior)) {
        throw unsupported(`the Split behaviour ${String(behavior)}`);
      }
      const invert = spec.invert === true;
      return { run: (splits) => splits.flatMap((s) => splitWith(s, regex, behavior, invert)), byteLevel: false };
    }
    case 'Digits': {
      const regex = spec.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return { run: (splits) => splits.flatMap((s) => splitWith(s, regex, 'Isolated')), byteLevel: false };
    }
    case 'ByteLevel': {
      const regex = spec.use_regex === false ? null : translatePattern(GPT2_PATTERN);
      const addPrefixSpace = spec.add_prefix_space === true;
      return {
        run: (splits) =>
          splits.flatMap((s) => {
            const text = addPrefixSpace && !s.startsWith(' ') ? ` ${s}` : s;
            const pieces = regex ? splitWith(text, regex, 'Isolated') : [text];
            return pieces.map(toByteLevel);
          }),
        byteLevel: true,
      };
    }
    default:
      throw unsupported(`the ${String(spec.type)} pre-tokenizer`);
  }
}

interface NormalizerSpec {
  type?: string;
  [key: string]: unknown;
}

/** Builds the normalizer from `tokenizer.json`'s `normalizer` (null = none). */
export function compileNormalizer(spec: NormalizerSpec | null | undefined): (text: string) => string {
  if (!spec) return (text) => text;
  switch (spec.type) {
    case 'Sequence': {
      const steps = ((spec.normalizers as NormalizerSpec[] | undefined) ?? []).map(compileNormalizer);
      return (text) => steps.reduce((acc, step) => step(acc), text);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = spec.type;
      return (text) => text.normalize(form);
    }
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'Prepend': {
      const prefix = String(spec.prepend ?? '');
      return (text) => (text.length > 0 ? prefix + text : text);
    }
    case 'Replace': {
      const regex = patternOf(spec);
      const content = String(spec.content ?? '');
      return (text) => text.replace(regex, () => content);
    }
    default:
      throw unsupported(`the ${String(spec.type)} normalizer`);
  }
}

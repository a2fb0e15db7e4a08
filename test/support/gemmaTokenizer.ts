/**
 * A small Gemma-3-style `tokenizer.json` for tests (the real one has 262,144
 * tokens and cannot be a fixture). It has the structure transformers'
 * `GemmaConverter` (convert_slow_tokenizer.py) gives Gemma 3's tokenizer.json:
 *
 * - model: BPE, `byte_fallback: true`, `fuse_unk: true`, `unk_token` `<unk>`,
 *   byte tokens `<0x00>`..`<0xFF>` except `<0x09>`, which the converter
 *   renames to a literal tab "\t";
 * - normalizer: Replace " " → "▁" (no dummy prefix: "Hello" is not "▁Hello");
 * - pre_tokenizer: Split " " MergedWithPrevious (a no-op after the normalizer);
 * - decoder: Sequence [Replace "▁" → " ", ByteFallback, Fuse];
 * - post_processor: TemplateProcessing adding `<bos>` (the workbench never
 *   asks for special tokens when it encodes, so this must change nothing);
 * - added tokens with Gemma 3's ids: `<pad>` 0, `<eos>` 1, `<bos>` 2,
 *   `<unk>` 3, `<mask>` 4, `[multimodal]` 5, `<unused0>`.. fill 6–104,
 *   `<start_of_turn>` 105, `<end_of_turn>` 106 (all special), and "\n" 107,
 *   "\n\n" 108 (not special, not normalized).
 *
 * Vocabulary after the added tokens: the 256 byte tokens, then single
 * characters (`baseChars`), then every prefix of each `pieces` entry, each
 * built by one merge (prefix minus its last character) + last character, in
 * the order given. So BPE of a word in `pieces` yields that word, and ids of
 * hand-computed cases are easy to derive: look the expected token strings up
 * in `vocab`.
 *
 * Use: `gemmaTokenizerJson()` for the object, `writeGemmaTokenizer(dir)` to
 * write `tokenizer.json` (and, with `{ config: true }`, a Gemma 3
 * `tokenizer_config.json` with the real chat template) into a model folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const GEMMA_IDS = {
  pad: 0,
  eos: 1,
  bos: 2,
  unk: 3,
  mask: 4,
  startOfTurn: 105,
  endOfTurn: 106,
  newline: 107,
  doubleNewline: 108,
} as const;

/** Gemma 3's chat template, as in google/gemma-3-1b-it's tokenizer_config.json. */
export const GEMMA3_CHAT_TEMPLATE = `{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
`;

/** Words the default vocabulary builds whole ("▁" is Gemma's space). */
export const DEFAULT_GEMMA_PIECES = ['user', 'model', 'Hello', '▁world', '▁the', 'ing', '▁▁', '▁Hi', 'Hi', '.▁'];

export interface GemmaTokenizerOptions {
  /** Words (with "▁" for spaces) the BPE merges build whole; default `DEFAULT_GEMMA_PIECES`. */
  pieces?: string[];
  /** Single characters in the vocabulary; others fall back to bytes. Default: printable ASCII but space, and "▁". */
  baseChars?: string[];
}

export interface GemmaTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: Array<{ id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }>;
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: Array<[string, string]>;
  };
}

function defaultBaseChars(): string[] {
  const chars: string[] = ['\u2581'];
  for (let c = 0x21; c <= 0x7e; c++) chars.push(String.fromCharCode(c));
  return chars;
}

export function gemmaTokenizerJson(options: GemmaTokenizerOptions = {}): GemmaTokenizerJson {
  const pieces = options.pieces ?? DEFAULT_GEMMA_PIECES;
  const baseChars = options.baseChars ?? defaultBaseChars();
  const vocab: Record<string, number> = {};
  const added: GemmaTokenizerJson['added_tokens'] = [];
  const add = (content: string, id: number, special: boolean): void => {
    vocab[content] = id;
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  };
  ['<pad>', '<eos>', '<bos>', '<unk>', '<mask>', '[multimodal]'].forEach((t, id) => add(t, id, true));
  for (let id = 6; id < GEMMA_IDS.startOfTurn; id++) add(`<unused${id - 6}>`, id, true);
  add('<start_of_turn>', GEMMA_IDS.startOfTurn, true);
  add('<end_of_turn>', GEMMA_IDS.endOfTurn, true);
  add('\n', GEMMA_IDS.newline, false);
  add('\n\n', GEMMA_IDS.doubleNewline, false);

  let next = GEMMA_IDS.doubleNewline + 1;
  const push = (token: string): void => {
    if (!(token in vocab)) vocab[token] = next++;
  };
  for (let b = 0; b < 256; b++) push(b === 0x09 ? '\t' : `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (const c of baseChars) push(c);
  const merges: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const piece of pieces) {
    const chars = Array.from(piece);
    for (const c of chars) push(c);
    let prefix = chars[0]!;
    for (const c of chars.slice(1)) {
      const merged = prefix + c;
      if (!seen.has(merged)) {
        seen.add(merged);
        merges.push([prefix, c]);
        push(merged);
      }
      prefix = merged;
    }
  }

  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
    pre_tokenizer: { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious', invert: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<bos>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<bos>': { id: '<bos>', ids: [GEMMA_IDS.bos], tokens: ['<bos>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Gemma 3's tokenizer_config.json fields the workbench reads, with the real chat template. */
export function gemmaTokenizerConfig(): Record<string, unknown> {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<bos>',
    eos_token: '<eos>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    chat_template: GEMMA3_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: 32768,
    tokenizer_class: 'GemmaTokenizer',
  };
}

/** Writes `tokenizer.json` (and with `config`, `tokenizer_config.json`) into `dir`; returns the tokenizer.json path. */
export function writeGemmaTokenizer(dir: string, options: GemmaTokenizerOptions & { config?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  writeFileSync(file, JSON.stringify(gemmaTokenizerJson(options), null, 2));
  if (options.config) writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(gemmaTokenizerConfig(), null, 2));
  return file;
}

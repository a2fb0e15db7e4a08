/**
 * The tokenizer must give the same ids as Hugging Face's Rust `tokenizers`.
 * Expected ids below were produced by `tokenizers` 0.22.2 (Python wheel,
 * `Tokenizer.from_file(path).encode(text, add_special_tokens=False).ids`) on
 * the real fixture files, independently of this code (they were first
 * asserted against the former hand-written tokenizer and now hold for the
 * Tokenizers.js adapter unchanged).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { HfTokenizer } from './hfTokenizer.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../../shared/fixtures');
const QWEN = path.join(FIXTURES, 'qwen3-tokenizer/tokenizer.json');
const SMOLLM = path.join(FIXTURES, 'litertlm/tokenizer.json');

const QWEN_CASES: Array<[string, number[]]> = [
  ["Hello, world!", [9707, 11, 1879, 0]],
  ["<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat's 2+2?<|im_end|>\n<|im_start|>assistant\n", [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 3838, 594, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198]],
  ["  multiple   spaces\n\n\nand newlines\r\n", [220, 5248, 256, 12621, 1406, 437, 501, 7969, 319]],
  ["\u00dcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8 \ud83d\ude80 emoji", [52491, 77, 37572, 66, 2956, 128505, 75402, 21894, 102819, 56833, 61803, 70534, 11162, 248, 222, 42365]],
  ["I'll don't WE'RE THEY'LL she'S 12345 3.14", [40, 3278, 1513, 944, 19677, 94153, 62493, 6, 4086, 1340, 13272, 220, 16, 17, 18, 19, 20, 220, 18, 13, 16, 19]],
  ["def f(x):\n\treturn x**2  # square\n", [750, 282, 2075, 982, 853, 856, 334, 17, 220, 671, 9334, 198]],
  ["\n", [198]],
  ["<think>\n\n</think>\n\nAnswer", [151667, 271, 151668, 271, 16141]],
  ["trailing space ", [376, 14277, 3550, 220]],
  ["<|im_end|><|im_end|>text<|endoftext|>", [151645, 151645, 1318, 151643]],
  ["\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 caf\u00e9\u0301 \ufb01", [141161, 144552, 144433, 144433, 135116, 144155, 144514, 144297, 144455, 51950, 53839, 32495, 70731]],
];

const SMOLLM_CASES: Array<[string, number[]]> = [
  ["Hello, world!", [19556, 28, 905, 17]],
  ["<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat's 2+2?<|im_end|>\n<|im_start|>assistant\n", [1, 9690, 198, 2683, 359, 253, 5356, 11173, 30, 2, 198, 1, 4093, 198, 1780, 506, 216, 34, 27, 34, 47, 2, 198, 1, 520, 9531, 198]],
  ["  multiple   spaces\n\n\nand newlines\r\n", [216, 2701, 256, 5600, 1116, 198, 397, 725, 5110, 2738]],
  ["\u00dcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8 \ud83d\ude80 emoji", [142, 246, 94, 25972, 83, 7466, 84, 2756, 17097, 241, 115, 40993, 179, 120, 248, 11100, 224, 10391, 251, 10391, 134, 11100, 226, 15107, 244, 218, 649, 33777]],
  ["I'll don't WE'RE THEY'LL she'S 12345 3.14", [57, 3060, 1326, 982, 26587, 23, 3256, 6462, 73, 23, 16421, 1041, 23, 67, 216, 33, 34, 35, 36, 37, 216, 35, 30, 33, 36]],
  ["def f(x):\n\treturn x**2  # square\n", [1604, 275, 24, 104, 727, 198, 197, 5406, 1792, 828, 34, 216, 907, 5222, 198]],
  ["\n", [198]],
  ["<think>\n\n</think>\n\nAnswer", [44, 17400, 46, 198, 198, 9617, 17400, 46, 198, 198, 21350]],
  ["trailing space ", [4861, 4966, 1898, 216]],
  ["<|im_end|><|im_end|>text<|endoftext|>", [2, 2, 2692, 0]],
  ["\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 caf\u00e9\u0301 \ufb01", [8083, 116, 186, 138, 239, 186, 138, 230, 186, 138, 230, 186, 138, 241, 186, 138, 227, 186, 138, 222, 186, 138, 238, 186, 138, 226, 37366, 151, 219, 40367]],
];

describe('HfTokenizer on the real Qwen tokenizer (Split regex + ByteLevel, NFC)', () => {
  let tok: HfTokenizer;
  beforeAll(() => {
    tok = HfTokenizer.fromJson(readFileSync(QWEN, 'utf8'));
  });

  it('knows the ChatML special tokens', () => {
    expect(tok.tokenToId('<|im_start|>')).toBe(151644);
    expect(tok.tokenToId('<|im_end|>')).toBe(151645);
    expect(tok.tokenToId('<|endoftext|>')).toBe(151643);
    expect(tok.addedToken('<|im_end|>')?.special).toBe(true);
    expect(tok.tokenToId('<|no_such_token|>')).toBeNull();
  });

  it.each(QWEN_CASES)('encodes %j like tokenizers', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });

  it('decodes back to the text (NFC-stable inputs)', () => {
    for (const [text, ids] of QWEN_CASES) {
      if (text.normalize('NFC') === text) expect(tok.decode(ids)).toBe(text);
    }
    expect(tok.decode([151644, 872, 198, 151645], true)).toBe('user\n');
  });

  it('refuses ids outside the vocabulary', () => {
    expect(() => tok.decode([999_999])).toThrow(expect.objectContaining({ code: 'tokenizer_unknown_id' }));
  });
});

describe('HfTokenizer on the LiteRT-LM fixture tokenizer (Digits + ByteLevel regex, string merges)', () => {
  let tok: HfTokenizer;
  beforeAll(() => {
    tok = HfTokenizer.fromJson(readFileSync(SMOLLM, 'utf8'));
  });

  it.each(SMOLLM_CASES)('encodes %j like tokenizers', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });
});

describe('added-token options (lstrip, rstrip, normalized, content already in the vocabulary)', () => {
  // The fixture vocabulary with three extra added tokens; expected ids from tokenizers 0.22.2 on the same JSON
  // with "cat" marked single_word (no case below puts "cat" next to a word character, so the flag does not matter).
  const CASES: Array<[string, number[]]> = [
    ['Hello  <mask> world', [19556, 49152, 905]],
    ['a [TRIM]   b', [81, 216, 49153, 82]],
    ['x<mask>y[TRIM]\n\nz', [104, 49152, 105, 49153, 106]],
    ['<|im_start|>cat<|im_end|>', [1, 9786, 2]],
  ];
  let tok: HfTokenizer;
  beforeAll(() => {
    const json = JSON.parse(readFileSync(SMOLLM, 'utf8')) as { added_tokens: unknown[] };
    json.added_tokens = [
      ...json.added_tokens.slice(0, 3),
      { id: 49152, content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
      { id: 49153, content: '[TRIM]', single_word: false, lstrip: false, rstrip: true, normalized: false, special: true },
      { id: 49154, content: 'cat', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    ];
    tok = HfTokenizer.fromJson(JSON.stringify(json));
  });

  it.each(CASES)('encodes %j like tokenizers', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });
});


describe('Rust semantics the adapter restores over Tokenizers.js', () => {
  it('splits every Unicode number in the Digits pre-tokenizer, not only ASCII 0-9 (Rust char::is_numeric)', () => {
    const tok = HfTokenizer.fromJson(readFileSync(SMOLLM, 'utf8'));
    const space = tok.tokenToId('Ġ')!;
    // " ٣" and " ½" are a space then a numeric character, two pre-tokens each, so the space stays its own token
    // (Tokenizers.js 0.2.0 alone merges it into "Ġ٣").
    for (const text of [' \u0663', ' \u00bd', ' \u2160', ' \u2460']) {
      const ids = tok.encode(text);
      expect(ids[0]).toBe(space);
      expect(tok.decode(ids)).toBe(text);
    }
    expect(tok.encode('12')).toEqual([tok.tokenToId('1'), tok.tokenToId('2')]);
  });

  it('gives an added token whose content is a vocabulary entry that entry\'s id', () => {
    const json = JSON.parse(readFileSync(SMOLLM, 'utf8')) as { added_tokens: unknown[] };
    json.added_tokens.push({ id: 60000, content: 'cat', special: false, normalized: false });
    const tok = HfTokenizer.fromJson(JSON.stringify(json));
    expect(tok.addedToken('cat')?.id).toBe(9786);
    expect(tok.encode('<|im_start|>cat')).toEqual([1, 9786]);
  });

  it('applies merges by rank, falls back to unk for unknown symbols and decodes with no clean-up', () => {
    const json = JSON.stringify({
      model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, bb: 3, '<unk>': 4, ' ': 5, '.': 6 }, merges: [['b', 'b'], ['a', 'b']], unk_token: '<unk>' },
      decoder: { type: 'Fuse' },
    });
    const tok = HfTokenizer.fromJson(json);
    // "abb": (b,b) has the better rank, so it wins over (a,b).
    expect(tok.encode('abb')).toEqual([0, 3]);
    expect(tok.encode('ab')).toEqual([2]);
    expect(tok.encode('abz')).toEqual([2, 4]);
    // transformers' clean_up_tokenization_spaces would turn " ." into "."; the Rust library does not.
    expect(tok.decode(tok.encode('ab .'))).toBe('ab .');
    expect(tok.decode([])).toBe('');
  });

  it('refuses an unknown symbol when the declared unk token is not in the vocabulary', () => {
    const json = JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [], unk_token: '<unk>' } });
    expect(() => HfTokenizer.fromJson(json).encode('ax')).toThrow(expect.objectContaining({ code: 'tokenizer_unknown_symbol' }));
  });
});

describe('bad and unsupported tokenizer files', () => {
  const bpe = (extra: Record<string, unknown> = {}, model: Record<string, unknown> = {}) =>
    JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'], ...model }, ...extra });

  function expectRefusal(text: string, code: string, message: RegExp): void {
    let caught: unknown;
    try {
      HfTokenizer.fromJson(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WorkbenchError);
    const e = caught as WorkbenchError;
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    // One sentence, no stack trace or library internals.
    expect(e.message).not.toMatch(/\n|at .*\.m?js|TypeError|undefined/);
  }

  it('rejects text that is not JSON, or JSON that is not an object', () => {
    expectRefusal('{"model": ', 'tokenizer_invalid', /not valid JSON/);
    expectRefusal('[1, 2]', 'tokenizer_invalid', /does not hold a JSON object/);
    expectRefusal('not json at all', 'tokenizer_invalid', /not valid JSON/);
  });

  it('rejects a missing model, a vocabulary that is not an object and merges that are not a list', () => {
    expectRefusal('{"version": "1.0"}', 'tokenizer_invalid', /no "model" section/);
    expectRefusal(bpe({}, { vocab: [['a', 0]] }), 'tokenizer_invalid', /model\.vocab/);
    expectRefusal(bpe({}, { vocab: { a: 'zero' } }), 'tokenizer_invalid', /not a token id/);
    expectRefusal(bpe({}, { merges: 'x' }), 'tokenizer_invalid', /"model\.merges" of "x", not a list of merges/);
    expectRefusal(bpe({}, { merges: undefined, type: 'BPE' }), 'tokenizer_invalid', /"model\.merges" missing/);
    expectRefusal(bpe({}, { merges: ['ab'] }), 'tokenizer_invalid', /malformed merge "ab"/);
    expectRefusal(bpe({}, { merges: [['a', 'b', 'c']] }), 'tokenizer_invalid', /malformed merge/);
    expectRefusal(bpe({ added_tokens: { a: 1 } }), 'tokenizer_invalid', /"added_tokens" that is not a list/);
    expectRefusal(bpe({ added_tokens: [{ content: '<x>' }] }), 'tokenizer_invalid', /malformed added token/);
    expectRefusal(bpe({ normalizer: 'NFC' }), 'tokenizer_invalid', /"normalizer" that is not a component with a "type"/);
    // Without a pattern the library would warn on the console and its Split would drop all the text.
    expectRefusal(bpe({ pre_tokenizer: { type: 'Split', behavior: 'Isolated' } }), 'tokenizer_invalid', /Split step without a \{"String"\} or \{"Regex"\} pattern/);
    expectRefusal(bpe({ normalizer: { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: 'x', content: '' }] } }), 'tokenizer_invalid', /Replace step without/);
  });

  it('refuses model types other than BPE clearly', () => {
    expectRefusal(JSON.stringify({ model: { type: 'Unigram', vocab: [['a', 0]] } }), 'tokenizer_unsupported', /model is Unigram; only BPE/);
    expectRefusal(JSON.stringify({ model: { type: 'WordPiece', vocab: { a: 0 }, unk_token: '[UNK]' } }), 'tokenizer_unsupported', /model is WordPiece/);
    expectRefusal(JSON.stringify({ model: { type: 'WordLevel', vocab: { a: 0 } } }), 'tokenizer_unsupported', /model is WordLevel/);
  });

  it('refuses settings Tokenizers.js does not reproduce like the Rust library', () => {
    const singleWord = bpe({ added_tokens: [{ id: 3, content: 'ab', single_word: true, special: false }] });
    expectRefusal(singleWord, 'tokenizer_unsupported', /single_word added token "ab"/);
    const merged = bpe({ pre_tokenizer: { type: 'Split', pattern: { Regex: '\\s' }, behavior: 'MergedWithPrevious', invert: false } });
    expectRefusal(merged, 'tokenizer_unsupported', /Split behaviour MergedWithPrevious/);
    const inverted = bpe({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { String: ' ' }, behavior: 'Isolated', invert: true }] } });
    expectRefusal(inverted, 'tokenizer_unsupported', /inverted Split/);
    const metaspace = bpe({ pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true } }, { vocab: { a: 0, '\u2581': 1, 'a\u2581': 2 }, merges: [['a', '\u2581']] });
    expectRefusal(metaspace, 'tokenizer_unsupported', /splitting Metaspace pre-tokenizer with the word-crossing token "a▁"/);
    expectRefusal(bpe({ decoder: { type: 'NoSuchDecoder' } }), 'tokenizer_unsupported', /cannot be loaded.*NoSuchDecoder/);
    expectRefusal(bpe({}, { continuing_subword_prefix: '##' }), 'tokenizer_unsupported', /subword prefixes/);
  });

  it('accepts a Metaspace that splits when no token crosses a word', () => {
    const text = bpe({ pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true } }, { vocab: { a: 0, '\u2581': 1, '\u2581a': 2 }, merges: [['\u2581', 'a']] });
    expect(HfTokenizer.fromJson(text).encode('a a')).toEqual([2, 2]);
  });
});

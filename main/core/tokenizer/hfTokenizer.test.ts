/**
 * The tokenizer must give the same ids as Hugging Face's Rust `tokenizers`.
 * Expected ids below were produced by `tokenizers` 0.22.2 (Python wheel,
 * `Tokenizer.from_file(path).encode(text, add_special_tokens=False).ids`) on
 * the real fixture files, independently of this code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer } from './hfTokenizer.js';
import { translatePattern } from './pretokenize.js';

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

describe('added-token options (lstrip, rstrip, single_word, normalized, content already in the vocabulary)', () => {
  // The fixture vocabulary with three extra added tokens; expected ids from tokenizers 0.22.2 on the same JSON.
  const CASES: Array<[string, number[]]> = [
    ['Hello  <mask> world', [19556, 49152, 905]],
    ['a [TRIM]   b', [81, 216, 49153, 82]],
    ['cat concat cat. category', [9786, 1700, 261, 216, 9786, 30, 6881]],
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
      { id: 49154, content: 'cat', single_word: true, lstrip: false, rstrip: false, normalized: true, special: false },
    ];
    tok = HfTokenizer.fromJson(JSON.stringify(json));
  });

  it.each(CASES)('encodes %j like tokenizers', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });
});

describe('bad and unsupported tokenizer files', () => {
  it('rejects invalid JSON with tokenizer_invalid', () => {
    expect(() => HfTokenizer.fromJson('{"model": ')).toThrow(expect.objectContaining({ code: 'tokenizer_invalid' }));
  });

  it('refuses non-BPE models clearly', () => {
    const json = JSON.stringify({ model: { type: 'Unigram', vocab: [] } });
    expect(() => HfTokenizer.fromJson(json)).toThrow(expect.objectContaining({ code: 'tokenizer_unsupported' }));
  });

  it('refuses pre-tokenizers it cannot reproduce', () => {
    const json = JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, pre_tokenizer: { type: 'Metaspace' } });
    expect(() => HfTokenizer.fromJson(json)).toThrow(/Metaspace/);
  });

  it('applies merges by rank and falls back to unk for unknown symbols', () => {
    const json = JSON.stringify({
      model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, bb: 3, '<unk>': 4 }, merges: [['b', 'b'], ['a', 'b']], unk_token: '<unk>' },
    });
    const tok = HfTokenizer.fromJson(json);
    // "abb": (b,b) has the better rank, so it wins over (a,b).
    expect(tok.encode('abb')).toEqual([0, 3]);
    expect(tok.encode('ab')).toEqual([2]);
    expect(tok.encode('abz')).toEqual([2, 4]);
  });
});

describe('translatePattern', () => {
  it('expands case-insensitive groups, which Node 20 cannot parse', () => {
    const re = translatePattern("(?i:'s|'ll)|\\p{L}+");
    expect("WE'LL she'S".match(re)).toEqual(['WE', "'LL", 'she', "'S"]);
  });

  it('refuses possessive quantifiers and atomic groups', () => {
    expect(() => translatePattern('\\p{L}++')).toThrow(/possessive/);
    expect(() => translatePattern('(?>ab)')).toThrow(/atomic/);
  });

  it('keeps lazy quantifiers and counted repetition', () => {
    expect('1234567'.match(translatePattern('\\p{N}{1,3}'))).toEqual(['123', '456', '7']);
    expect('aaa'.match(translatePattern('a+?'))).toEqual(['a', 'a', 'a']);
  });
});

/**
 * A Gemma-3-style tokenizer.json (BPE with byte fallback, "▁" for spaces, no
 * dummy prefix; see test/support/gemmaTokenizer.ts) through the adapter.
 * Expected tokens are worked out by hand from the generator's merges (each
 * listed piece is built by its prefix chain; nothing else merges) and looked
 * up in its vocabulary, so a wrong split, a missing byte fallback or a
 * post-processor <bos> shows up as different ids.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { gemmaTokenizerJson, GEMMA_IDS } from '../../../test/support/gemmaTokenizer.js';
import type { GemmaTokenizerJson } from '../../../test/support/gemmaTokenizer.js';
import { HfTokenizer } from './hfTokenizer.js';

let json: GemmaTokenizerJson;
let tok: HfTokenizer;
const id = (token: string): number => {
  const value = json.model.vocab[token];
  if (value === undefined) throw new Error(`${JSON.stringify(token)} is not in the test vocabulary`);
  return value;
};
const ids = (...tokens: string[]): number[] => tokens.map(id);

beforeAll(() => {
  json = gemmaTokenizerJson();
  tok = HfTokenizer.fromJson(JSON.stringify(json));
});

describe('a Gemma-style tokenizer (byte fallback, Replace " " → "▁", Split MergedWithPrevious no-op)', () => {
  it('knows the special tokens at Gemma 3 ids', () => {
    expect(tok.tokenToId('<pad>')).toBe(0);
    expect(tok.tokenToId('<eos>')).toBe(1);
    expect(tok.tokenToId('<bos>')).toBe(2);
    expect(tok.tokenToId('<start_of_turn>')).toBe(105);
    expect(tok.tokenToId('<end_of_turn>')).toBe(106);
    expect(tok.addedToken('<end_of_turn>')).toMatchObject({ id: 106, special: true, normalized: false });
    expect(tok.addedToken('\n')).toMatchObject({ id: 107, special: false });
    expect(tok.vocabSize).toBe(Object.keys(json.model.vocab).length);
  });

  const CASES: Array<[string, string[]]> = [
    // No dummy prefix: "Hello" stays "Hello"; the space becomes "▁" and joins the next word.
    ['Hello world', ['Hello', '▁world']],
    [' Hello', ['▁', 'Hello']],
    // "▁▁" is a piece, "▁b" is not.
    ['a  b', ['a', '▁▁', 'b']],
    ['a   b', ['a', '▁▁', '▁', 'b']],
    // A literal tab is a vocabulary entry (the converter renames <0x09>), not a byte token.
    ['\tx', ['\t', 'x']],
    // Characters outside the vocabulary fall back to their UTF-8 bytes.
    ['é', ['<0xC3>', '<0xA9>']],
    ['h\u00e9llo', ['h', '<0xC3>', '<0xA9>', 'l', 'l', 'o']],
    ['🚀!', ['<0xF0>', '<0x9F>', '<0x9A>', '<0x80>', '!']],
    ['日本', ['<0xE6>', '<0x97>', '<0xA5>', '<0xE6>', '<0x9C>', '<0xAC>']],
    // Digits never merge (no multi-digit pieces, as in Gemma).
    ['2024', ['2', '0', '2', '4']],
    // "▁th" (a prefix of "▁the") wins over "t"+"h"; then "ing" forms from "i","n","g".
    ["it's the thing.", ['i', 't', "'", 's', '▁the', '▁th', 'ing', '.']],
    // ("▁","H") ranks before (".","▁"), so the space joins the next word: ".", "▁Hi".
    ['Hi. Hi', ['Hi', '.', '▁Hi']],
  ];

  it.each(CASES)('encodes %j as %j', (text, tokens) => {
    expect(tok.encode(text)).toEqual(ids(...tokens));
  });

  it('splits the chat markers and newline tokens out first and adds no <bos>', () => {
    const text = '<start_of_turn>user\nHello world<end_of_turn>\n<start_of_turn>model\n';
    expect(tok.encode(text)).toEqual([
      GEMMA_IDS.startOfTurn, id('user'), GEMMA_IDS.newline, id('Hello'), id('▁world'), GEMMA_IDS.endOfTurn, GEMMA_IDS.newline,
      GEMMA_IDS.startOfTurn, id('model'), GEMMA_IDS.newline,
    ]);
    // Leftmost-longest: "\n\n" is one added token, a third "\n" the next.
    expect(tok.encode('a\n\n\nb')).toEqual([id('a'), GEMMA_IDS.doubleNewline, GEMMA_IDS.newline, id('b')]);
    expect(tok.encode('<bos>Hi')).toEqual([GEMMA_IDS.bos, id('Hi')]);
  });

  it('decodes back to the text: "▁" to spaces, byte tokens to UTF-8, no leading-space strip', () => {
    const texts = [...CASES.map(([t]) => t), '<start_of_turn>user\nHéllo  wörld 👋🏽\t2+2=4<end_of_turn>\n', ' leading and trailing ', '\n\n\n'];
    for (const text of texts) expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode([GEMMA_IDS.startOfTurn, id('model'), GEMMA_IDS.newline, id('Hi'), GEMMA_IDS.endOfTurn], true)).toBe('model\nHi');
    // A lone byte token that is not valid UTF-8 decodes to U+FFFD, never throws.
    expect(tok.decode([id('<0xC3>')])).toBe('\ufffd');
  });

  it('encodes a long text (whole text is one BPE word in Gemma) the same as its parts joined', () => {
    const sentence = 'Hello world, the thing is: héllo 🚀 2024. ';
    const text = sentence.repeat(60);
    const once = tok.encode(sentence);
    // The sentence ends with "▁" after "."; ". " merges to ".▁" so each repetition tokenizes alike.
    expect(tok.encode(text)).toEqual(Array.from({ length: 60 }, () => once).flat());
    expect(tok.decode(tok.encode(text))).toBe(text);
  });
});

describe('Gemma-style variants the adapter must refuse or accept', () => {
  it('refuses the Split MergedWithPrevious when the normalizer no longer replaces the spaces', () => {
    const noReplace = { ...gemmaTokenizerJson(), normalizer: null };
    expect(() => HfTokenizer.fromJson(JSON.stringify(noReplace))).toThrow(expect.objectContaining({ code: 'tokenizer_unsupported', message: expect.stringMatching(/Split behaviour MergedWithPrevious/) }));
  });

  it('uses <unk> for a character whose bytes are not all in the vocabulary', () => {
    const base = gemmaTokenizerJson();
    delete base.model.vocab['<0xA9>'];
    const t = HfTokenizer.fromJson(JSON.stringify(base));
    // "é" is C3 A9; with A9 missing the whole character becomes <unk> (fuse_unk joins neighbours).
    expect(t.encode('aéé')).toEqual([base.model.vocab['a'], GEMMA_IDS.unk]);
  });
});

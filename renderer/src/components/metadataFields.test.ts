import { describe, expect, it } from 'vitest';
import { parseNumber, textToToken, textToTokens, tokensToText } from './metadataFields';

describe('metadata field text forms', () => {
  it('reads ids, token strings and multi-id tokens, and writes them back', () => {
    const tokens = textToTokens(' 151645, <|im_end|>,, 1+2 ');
    expect(tokens).toEqual([{ tokenIds: { ids: [151645] } }, { tokenStr: '<|im_end|>' }, { tokenIds: { ids: [1, 2] } }]);
    expect(tokensToText(tokens)).toBe('151645, <|im_end|>, 1+2');
    expect(textToToken('')).toBeUndefined();
    expect(textToToken('<bos>')).toEqual({ tokenStr: '<bos>' });
  });

  it('parses number fields: blank is unset, junk is refused', () => {
    expect(parseNumber('', true)).toBeUndefined();
    expect(parseNumber('4096', true)).toBe(4096);
    expect(parseNumber('0.8', false)).toBe(0.8);
    expect(parseNumber('0.8', true)).toBeNull();
    expect(parseNumber('abc', false)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { metadataProblems, tokenIdLimit } from './metadataChecks.js';

const limits = { vocabSize: 151_669, kvCacheLength: 4096 };

describe('metadataProblems', () => {
  it('passes what a Qwen2.5 bundle derives', () => {
    expect(
      metadataProblems({ stopTokens: [{ tokenIds: { ids: [151645, 151643] } }], samplerParams: { type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 }, maxNumTokens: 4096 }, limits),
    ).toEqual([]);
  });

  it('names each value the runtime cannot use, in the field it belongs to', () => {
    const problems = metadataProblems(
      { startToken: { tokenStr: '' }, stopTokens: [{ tokenStr: 'abc' }, { tokenIds: { ids: [999_999_999, -1] } }], samplerParams: { k: -3, p: 2.5, temperature: -1 }, maxNumTokens: 99_999_999 },
      limits,
    );
    expect(problems.map((p) => p.field)).toEqual(['startToken', 'stopTokens', 'stopTokens', 'samplerParams', 'samplerParams', 'samplerParams', 'maxNumTokens']);
    expect(problems[1]!.message).toBe('Stop token 2: id 999999999 is past the end of the vocabulary (151,669 tokens, ids 0 to 151,668).');
    expect(problems[6]!.message).toBe("max_num_tokens 99,999,999 is more than the .tflite's KV cache holds (4,096 tokens).");
  });

  it('checks only what it can when the tokenizer or the KV cache is unknown', () => {
    expect(metadataProblems({ stopTokens: [{ tokenIds: { ids: [999_999_999] } }], maxNumTokens: 99_999 }, { vocabSize: null, kvCacheLength: null })).toEqual([]);
  });
});

describe('tokenIdLimit', () => {
  it('reaches past a gap to the highest added token', () => {
    const summary = { kind: 'hf-json' as const, modelType: 'BPE', vocabSize: 10, baseVocabSize: 8, mergesCount: 0, byteLevel: true, addedTokens: [{ id: 50, content: '<x>', special: true }], sizeBytes: 1, sha256: '' };
    expect(tokenIdLimit(summary)).toBe(51);
  });
});

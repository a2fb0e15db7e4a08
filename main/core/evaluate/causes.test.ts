/**
 * The attribution order on measured outcomes written out by hand (the
 * planted-fault tests in test/evaluate-causes.test.ts check it with the real
 * engine and reference): a symptom is not blamed before its cause.
 */
import { describe, expect, it } from 'vitest';
import type { Answer, PromptOutcome } from '../../common/stages/evaluate.js';
import { checkKind, rankCauses } from './causes.js';
import type { BundleFacts } from './promptInputs.js';

const answer = (text: string, stopped: boolean, extra: Partial<Answer> = {}): Answer => ({ text, stopped, stopToken: stopped ? '<|im_end|>' : null, stopReason: stopped ? 'stop-token' : 'max-tokens', tokens: text.split(' ').length, repetition: 0, error: null, ...extra });
const facts: BundleFacts = { sampler: 'TOP_P, k 40, p 0.95, temperature 1.5', stopTokens: [{ id: 151643, text: '<|endoftext|>' }], startToken: [], maxNumTokens: 128, kvLength: 128 };

function outcome(over: Partial<PromptOutcome>): PromptOutcome {
  const reference = answer('The sky is blue.', true);
  return {
    index: 0, label: 'colour', messages: [{ role: 'user', content: 'What colour is the sky?' }],
    reference, bundle: reference, greedy: reference,
    firstDivergence: { token: null, char: null }, greedyDivergence: { token: null, char: null },
    repetition: 0, numeric: null, input: { modelTokens: 14, runtimeTokens: 14, format: null, tokenizer: null, problem: null }, cause: null,
    ...over,
  };
}

describe('cause attribution', () => {
  it('a hot sampler whose answers never stop is the sampler, not the stop tokens, when greedy matches and stops', () => {
    const p = outcome({ bundle: answer('The sky blew over the', false), firstDivergence: { token: 2, char: 8 } });
    const { causes, perPrompt } = rankCauses([p], facts, [{ id: 'stop-tokens.end-of-turn', status: 'fail', explanation: 'x' }]);
    expect(perPrompt[0]!.kind).toBe('sampler');
    expect(causes[0]!.kind).toBe('sampler');
    expect(causes[0]!.text).toContain('temperature 1.5');
    // The failing stop-token check no answer shows is latent, ranked last.
    expect(causes.at(-1)).toMatchObject({ kind: 'stop-tokens', latent: true });
  });

  it('greedy running past the reference stop is the stop tokens, naming the id the bundle lacks', () => {
    const g = answer('The sky is blue.<|im_end|>.<|im_end|>', false);
    const p = outcome({ bundle: g, greedy: g, firstDivergence: { token: 5, char: 16 }, greedyDivergence: { token: 5, char: 16 } });
    const { causes } = rankCauses([p], facts, []);
    expect(causes.map((c) => c.kind)).toEqual(['stop-tokens']);
    expect(causes[0]!.text).toContain('not a stop token of the bundle (151643 "<|endoftext|>")');
  });

  it('a loop the reference shares is the model itself, even when the loops differ', () => {
    const ref = answer('la la la la la la la la', false, { repetition: 0.8 });
    const own = answer('la la la la la la la lo', false, { repetition: 0.7 });
    const p = outcome({ reference: ref, bundle: own, greedy: ref, firstDivergence: { token: 7, char: 21 } });
    expect(rankCauses([p], facts, []).causes[0]!.kind).toBe('model');
    // And on a matching answer it is a note, not a difference.
    const same = rankCauses([outcome({ reference: ref, bundle: ref, greedy: ref })], facts, []);
    expect(same.perPrompt[0]).toBeNull();
    expect(same.causes.map((c) => [c.kind, c.latent])).toEqual([['model', false]]);
  });

  it('prompt + answer beyond max_num_tokens is the context, before anything else', () => {
    const g = answer('The sky', false, { stopReason: 'context-full' });
    const p = outcome({ bundle: g, greedy: g, firstDivergence: { token: 2, char: 7 }, greedyDivergence: { token: 2, char: 7 }, input: { modelTokens: 14, runtimeTokens: 14, format: null, tokenizer: null, problem: null } });
    const { causes } = rankCauses([p], { ...facts, maxNumTokens: 16 }, []);
    expect(causes[0]!.kind).toBe('context');
    expect(causes[0]!.evidence).toEqual(expect.arrayContaining([{ label: 'field', value: 'max_num_tokens (metadata)' }, { label: 'its value', value: '16' }, { label: 'tokens needed', value: '19' }]));
  });

  it('maps check ids to classes by the longest prefix', () => {
    expect(checkKind('engine.typed-content')).toBe('prompt-format');
    expect(checkKind('engine.sampler-type')).toBe('sampler');
    expect(checkKind('engine.kv-output-names')).toBe('engine');
    expect(checkKind('start-token.not-doubled')).toBe('prompt-format');
    expect(checkKind('context.max-num-tokens')).toBe('context');
  });
});

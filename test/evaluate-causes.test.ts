/**
 * Causes ranked by evidence, on planted faults (issue 16, item 1): the
 * demonstration chat model trained here (test/support/faultBundles.ts: once,
 * cached under the OS temp dir by the trainer's hash), converted natively
 * and packaged with ONE fault per bundle, then checked by the real behaviour
 * check — PyTorch reference (Debian torch, plain_lm.py), LiteRT-LM's wasm
 * engine in its child process (dist/stages/bundle-runner.js: `npm run
 * build` first), LiteRT.js teacher forcing. Each case asserts the first
 * cause of every differing answer and of the summary, and that no other
 * class is blamed first; independent checks recompute what the evidence
 * quotes (the tokenizers' ids, the token counts, the sampler values).
 */
import os from 'node:os';
import path from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluateParams, type EvaluateResult } from '../main/common/stages/evaluate.js';
import { runEvaluation } from '../main/core/evaluate/run.js';
import { HfTokenizer } from '../main/core/tokenizer/hfTokenizer.js';
import { faultBundles, type Fault, type FaultSet } from './support/faultBundles.js';
import { TEST_PYTHON } from './support/python.js';

let set: FaultSet;

beforeAll(async () => {
  set = await faultBundles();
}, 900_000);

// The bundles stay cached for the next run; each evaluation's work folder does not.
afterAll(() => {
  for (const fault of Object.keys(set?.cases ?? {})) rmSync(path.join(os.tmpdir(), `evaluate-causes-${fault}-${process.pid}`), { recursive: true, force: true });
});

async function evaluate(fault: Fault): Promise<EvaluateResult> {
  const c = set.cases[fault];
  const params = EvaluateParams.parse({ modelDir: c.modelDir, bundlePath: c.bundle, promptsFile: c.promptsFile, onlyPromptsFile: true, maxTokens: 16 });
  return runEvaluation(params, { python: TEST_PYTHON, workDir: path.join(os.tmpdir(), `evaluate-causes-${fault}-${process.pid}`), reporter: { progress() {}, log() {}, metric() {} } });
}

/** The first cause of the summary and of every differing prompt is `kind`; no other class comes first anywhere. */
function expectFirst(r: EvaluateResult, kind: string): void {
  const differing = r.prompts.filter((p) => p.cause !== null);
  expect(differing.length, r.summary.text).toBeGreaterThan(0);
  expect(differing.map((p) => p.cause!.kind), JSON.stringify(differing.map((p) => p.cause))).toEqual(differing.map(() => kind));
  expect(r.summary.verdict).toBe('differ');
  expect(r.summary.causes[0]!.kind, r.summary.causes.map((c) => c.text).join('\n')).toBe(kind);
  expect(r.summary.causes[0]!.prompts).toEqual(differing.map((p) => p.index));
  expect(r.summary.causes.filter((c) => c.prompts.length > 0 && !c.latent).map((c) => c.kind)).toEqual([kind]);
  expect(r.summary.text).toContain('first cause');
}

const MINUTES = 60_000;

describe('planted faults: the first cause', () => {
  it('clean control: every answer matches, no cause, verdict match', async () => {
    const r = await evaluate('clean');
    expect(r.summary.verdict).toBe('match');
    expect(r.summary.bundleMatches).toBe(r.summary.prompts);
    expect(r.summary.causes).toEqual([]);
    expect(r.prompts.every((p) => p.cause === null && p.input!.format === null && p.input!.tokenizer === null)).toBe(true);
    expect(r.summary.numeric!.top1Agreement).toBe(1);
  }, 20 * MINUTES);

  it('hot sampler: greedy matches and stops, the sampled answers do not → sampler, with its values', async () => {
    const r = await evaluate('sampler');
    expectFirst(r, 'sampler');
    expect(r.summary.greedyMatches).toBe(r.summary.prompts);
    expect(r.summary.causes[0]!.text).toContain('TOP_P, k 1000, p 1, temperature 4');
  }, 20 * MINUTES);

  it('missing stop token: greedy runs past <|im_end|> → stop tokens, naming the id the bundle lacks', async () => {
    const r = await evaluate('stop');
    expectFirst(r, 'stop-tokens');
    expect(r.bundleFacts!.stopTokens.map((t) => t.id)).toEqual([151643]);
    expect(r.summary.causes[0]!.text).toContain('the reference stopped on <|im_end|>');
    expect(r.summary.causes[0]!.text).toContain('not a stop token of the bundle (151643 "<|endoftext|>")');
  }, 20 * MINUTES);

  it("a chat template that is not the model's → prompt format (template), where the ids part", async () => {
    const r = await evaluate('template');
    expectFirst(r, 'prompt-format');
    const p = r.prompts.find((x) => x.cause)!;
    expect(p.input!.format!.source).toBe('template');
    // Independent: the model's rendering is "<|im_start|>user\n…", the foreign one "<|im_start|>User:\n…": they part at token 1.
    expect(p.input!.format!.position).toBe(1);
    expect(p.input!.format!.expected[0]).toEqual({ id: 872, text: 'user' });
    expect(r.summary.causes[0]!.evidence).toEqual(expect.arrayContaining([{ label: 'source', value: 'the chat template' }]));
  }, 20 * MINUTES);

  it('max_num_tokens below prompt + answer → context, naming the field, its value and the token count', async () => {
    const r = await evaluate('context');
    expectFirst(r, 'context');
    const p = r.prompts.find((x) => x.cause)!;
    // Independent count: the model's prompt ids plus the trained answer and its stop token.
    const needed = p.input!.runtimeTokens! + p.reference.tokens + 1;
    expect(needed).toBeGreaterThan(20);
    expect(p.cause!.evidence).toEqual(expect.arrayContaining([{ label: 'field', value: 'max_num_tokens (metadata)' }, { label: 'its value', value: '20' }, { label: 'tokens needed', value: String(needed) }]));
  }, 20 * MINUTES);

  it("a bundle tokenizer that encodes the prompt differently → tokenizer, with the ids of both", async () => {
    const r = await evaluate('tokenizer');
    expectFirst(r, 'tokenizer');
    expect(r.failingChecks.map((c) => c.id)).toContain('tokenizer.identical');
    const p = r.prompts.find((x) => x.cause)!;
    // Independent: encode the prompt text with both tokenizer files.
    const model = HfTokenizer.fromJson(readFileSync(path.join(set.modelDir, 'tokenizer.json'), 'utf8'));
    const bundle = HfTokenizer.fromJson(readFileSync(path.join(set.dir, 'model-broken-tokenizer', 'tokenizer.json'), 'utf8'));
    const text = `<|im_start|>user\n${p.messages[0]!.content}<|im_end|>\n<|im_start|>assistant\n`;
    const a = model.encode(text);
    const b = bundle.encode(text);
    const at = a.findIndex((id, i) => id !== b[i]);
    expect(p.input!.tokenizer!.position).toBe(at);
    expect(p.input!.tokenizer!.expected[0]!.id).toBe(a[at]);
    expect(p.input!.tokenizer!.actual[0]!.id).toBe(b[at]);
    expect(p.input!.format).toBeNull();
  }, 20 * MINUTES);

  it('a .tflite from damaged weights → conversion/quantization: teacher-forced top-1 departs', async () => {
    const r = await evaluate('conversion');
    expectFirst(r, 'conversion');
    expect(r.summary.numeric!.top1Agreement).toBeLessThan(0.5);
    expect(r.prompts.every((p) => p.input!.format === null && p.input!.tokenizer === null)).toBe(true);
  }, 20 * MINUTES);

  it('a model whose reference loops → the model itself, not the bundle', async () => {
    const r = await evaluate('model');
    expect(r.prompts[0]!.reference.repetition).toBeGreaterThanOrEqual(0.5);
    expect(r.prompts[0]!.reference.stopped).toBe(false);
    expect(r.summary.causes[0]!.kind).toBe('model');
    expect(r.summary.causes.some((c) => c.kind !== 'model' && !c.latent)).toBe(false);
    expect(r.summary.causes[0]!.text).toContain('not the bundle');
    // The bundle is faithful: its answer is the reference's, so no difference is blamed on it.
    expect(r.summary.verdict).toBe('match');
  }, 20 * MINUTES);

  it('latent: a doubled start token while every answer matches → verdict latent, naming the start token and where', async () => {
    const r = await evaluate('latent');
    expect(r.summary.bundleMatches).toBe(r.summary.prompts);
    expect(r.summary.verdict).toBe('latent');
    expect(r.summary.text).not.toMatch(/^The bundle's answers match the reference in all \d+ prompts\.$/);
    const c = r.summary.causes[0]!;
    expect(c).toMatchObject({ kind: 'prompt-format', latent: true });
    expect(c.checks).toEqual(expect.arrayContaining(['start-token.not-doubled']));
    expect(c.text).toContain(`the answers match on these ${r.summary.prompts} prompts`);
    expect(c.text).toContain('the start token 151644 "<|im_start|>"');
    expect(r.prompts[0]!.input!.format).toMatchObject({ source: 'start-token', position: 1 });
  }, 20 * MINUTES);
});

/**
 * The analyzer on realistic inputs: Qwen model folders built from the real
 * Qwen tokenizer (Qwen2.5 chat template, generation_config with an EOS list
 * and sampling settings) and real .litertlm bundles, one clean and one per
 * class of defect. Each defect must fail (or warn) exactly the check meant
 * for it; the clean bundle must pass every item.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckItem, FidelityReport } from '../../common/fidelity.js';
import type { LlmMetadataJson } from '../../common/formats.js';
import { withMetadata, writeTestBundle } from '../../../test/support/bundles.js';
import { CHATML_TEMPLATE, FIXTURES, QWEN25_GENERATION_CONFIG, QWEN25_TEMPLATE, writeQwenModelFolder } from '../../../test/support/fidelityModels.js';
import type { SyntheticTfliteOptions } from '../../../test/support/syntheticTflite.js';
import { analyze } from './analyze.js';
import { typedContentSafe } from './checks/engine.js';
import type { ModelSide } from './input.js';
import { loadBundleSide, loadModelSide } from './load.js';

/** Qwen2.5-Instruct's settings without the repetition penalty, so a bundle can satisfy all of them. */
const GEN_NO_PENALTY = { ...QWEN25_GENERATION_CONFIG, repetition_penalty: 1.0 };

const CLEAN: LlmMetadataJson = {
  stopTokens: [{ tokenIds: { ids: [151645] } }, { tokenIds: { ids: [151643] } }],
  // What the metadata fix writes: the model's template behind the typed-content preamble.
  jinjaPromptTemplate: typedContentSafe(QWEN25_TEMPLATE),
  samplerParams: { type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 },
  maxNumTokens: 4096,
  llmModelType: { qwen2p5: {} },
};

let tmp: string;
let qwen25: ModelSide;
let chatmlModel: ModelSide;
let penaltyModel: ModelSide;
let counter = 0;

/** One packaged bundle per model folder; metadata variants are rewrites of it, as the fix does. */
const bases = new Map<string, string>();

async function check(model: ModelSide, metadata: LlmMetadataJson, options: { intendedContext?: number; tokenizerFrom?: string; tflite?: SyntheticTfliteOptions } = {}): Promise<FidelityReport> {
  const file = path.join(tmp, `bundle-${counter++}.litertlm`);
  if (options.tokenizerFrom || options.tflite) {
    await writeTestBundle(file, model.dir, { metadata, ...(options.tokenizerFrom ? { tokenizerFrom: options.tokenizerFrom } : {}), ...(options.tflite ? { tflite: options.tflite } : {}) });
  } else {
    let base = bases.get(model.dir);
    if (!base) {
      base = await writeTestBundle(path.join(tmp, `base-${bases.size}.litertlm`), model.dir, { metadata });
      bases.set(model.dir, base);
    }
    await withMetadata(base, file, metadata);
  }
  const bundle = await loadBundleSide(file, model);
  return analyze({ model, bundle, intendedContext: options.intendedContext ?? 4096 });
}

function item(report: FidelityReport, id: string): CheckItem {
  const found = report.items.find((i) => i.id === id);
  if (!found) throw new Error(`no item ${id} in ${report.items.map((i) => i.id).join(', ')}`);
  return found;
}

/**
 * Items not passing. The stock templates these defect tests put in the bundle
 * concatenate message.content, which warns engine.typed-content (LiteRT-LM
 * 0.17.1); that item has its own tests below, so the one-defect lists leave it out.
 */
function notPassing(report: FidelityReport): string[] {
  return report.items.filter((i) => i.status !== 'pass' && i.id !== 'engine.typed-content').map((i) => `${i.id}:${i.status}`);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fidelity-'));
  qwen25 = await loadModelSide(writeQwenModelFolder(path.join(tmp, 'qwen25'), { generationConfig: GEN_NO_PENALTY }));
  chatmlModel = await loadModelSide(writeQwenModelFolder(path.join(tmp, 'chatml'), { chatTemplate: CHATML_TEMPLATE, generationConfig: GEN_NO_PENALTY }));
  penaltyModel = await loadModelSide(writeQwenModelFolder(path.join(tmp, 'penalty')));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a clean bundle', () => {
  it('passes every item', async () => {
    const report = await check(qwen25, CLEAN);
    expect(notPassing(report)).toEqual([]);
    expect(report.summary).toMatchObject({ fail: 0, warn: 0, overall: 'pass', fixAvailable: false });
    expect(report.items.length).toBeGreaterThanOrEqual(17);
    // The analyzer found Qwen's end-of-turn token and the injected default system prompt.
    expect(item(report, 'stop-tokens.end-of-turn').evidence[0]!.value).toContain('151645');
    expect(item(report, 'prompt-format.default-system-prompt').explanation).toContain('You are Qwen, created by Alibaba Cloud');
  });
});

describe('one defect at a time', () => {
  it('missing <|im_end|> stop token', async () => {
    const report = await check(qwen25, { ...CLEAN, stopTokens: [{ tokenIds: { ids: [151643] } }] });
    expect(item(report, 'stop-tokens.end-of-turn').status).toBe('fail');
    expect(item(report, 'stop-tokens.end-of-turn').explanation).toContain('<|im_end|>');
    expect(item(report, 'stop-tokens.eos').status).toBe('fail');
    expect(notPassing(report)).toEqual(['stop-tokens.eos:fail', 'stop-tokens.end-of-turn:fail']);
  });

  it('a newline stop token (ordinary text)', async () => {
    const report = await check(qwen25, { ...CLEAN, stopTokens: [...CLEAN.stopTokens!, { tokenStr: '\n' }] });
    expect(notPassing(report)).toEqual(['stop-tokens.ordinary-text:fail']);
    expect(item(report, 'stop-tokens.ordinary-text').explanation).toContain('"\\n"');
  });

  it('a stop token string that is not in the tokenizer', async () => {
    const report = await check(qwen25, { ...CLEAN, stopTokens: [...CLEAN.stopTokens!, { tokenStr: '<end_of_turn>' }] });
    expect(notPassing(report)).toEqual(['stop-tokens.exist:fail']);
    expect(item(report, 'stop-tokens.exist').evidence[0]!.value).toMatch(/not a token of the tokenizer/);
  });

  it('no stop tokens at all', async () => {
    const { stopTokens: _omit, ...rest } = CLEAN;
    const report = await check(qwen25, rest);
    expect(item(report, 'stop-tokens.eos').status).toBe('fail');
    expect(item(report, 'stop-tokens.eos').explanation).toMatch(/no stop tokens/);
  });

  it('a start token on a model without BOS', async () => {
    const report = await check(qwen25, { ...CLEAN, startToken: { tokenIds: { ids: [151643] } } });
    expect(item(report, 'start-token.bos').status).toBe('fail');
    expect(item(report, 'prompt-format.token-ids').status).toBe('fail');
    expect(item(report, 'start-token.not-doubled').status).toBe('pass');
  });

  it('a doubled marker: start token equal to what the template begins with', async () => {
    const report = await check(qwen25, { ...CLEAN, startToken: { tokenStr: '<|im_start|>' } });
    expect(item(report, 'start-token.not-doubled').status).toBe('fail');
    expect(item(report, 'start-token.not-doubled').evidence[0]!.value).toMatch(/^151644 .*151644/);
  });

  it('a template that differs from the chat template', async () => {
    const report = await check(qwen25, { ...CLEAN, jinjaPromptTemplate: CHATML_TEMPLATE });
    const text = item(report, 'prompt-format.text');
    expect(text.status).toBe('fail');
    expect(text.diffs?.[0]?.conversation).toBe('single user turn');
    expect(text.diffs?.[0]?.expectedText.startsWith('<|im_start|>system\nYou are Qwen')).toBe(true);
    // Only system-less conversations differ.
    expect(text.diffs?.map((d) => d.conversation)).toEqual(['single user turn', 'multi-turn', 'finished exchange (training form)']);
    expect(item(report, 'prompt-format.token-ids').status).toBe('fail');
    // <|im_start|> matches; then "system" (8948) vs "user" (872).
    expect(item(report, 'prompt-format.token-ids').diffs?.[0]?.tokenOffset).toBe(1);
    expect(item(report, 'prompt-format.default-system-prompt').status).toBe('fail');
  });

  it('an injected default system prompt the model never had', async () => {
    const report = await check(chatmlModel, { ...CLEAN, jinjaPromptTemplate: QWEN25_TEMPLATE });
    const injected = item(report, 'prompt-format.default-system-prompt');
    expect(injected.status).toBe('fail');
    expect(injected.explanation).toMatch(/bundle injects a default system prompt.*You are Qwen/);
    expect(item(report, 'prompt-format.text').status).toBe('fail');
  });

  it('no prompt format at all', async () => {
    const { jinjaPromptTemplate: _omit, ...rest } = CLEAN;
    const report = await check(qwen25, rest);
    expect(item(report, 'prompt-format.present').status).toBe('fail');
    expect(item(report, 'prompt-format.text').status).toBe('fail');
  });

  it('only prefix/suffix templates', async () => {
    const { jinjaPromptTemplate: _omit, ...rest } = CLEAN;
    const report = await check(chatmlModel, {
      ...rest,
      promptTemplates: {
        user: { prefix: '<|im_start|>user\n', suffix: '<|im_end|>\n' },
        model: { prefix: '<|im_start|>assistant\n', suffix: '<|im_end|>\n' },
        system: { prefix: '<|im_start|>system\n', suffix: '<|im_end|>\n' },
      },
    });
    // The affixes reproduce plain ChatML exactly; only their expressiveness is flagged.
    expect(item(report, 'prompt-format.present').status).toBe('warn');
    expect(item(report, 'prompt-format.text').status).toBe('pass');
    expect(item(report, 'prompt-format.token-ids').status).toBe('pass');
  });

  it('missing sampler params (runtime default is effectively greedy)', async () => {
    const { samplerParams: _omit, ...rest } = CLEAN;
    const report = await check(qwen25, rest);
    expect(notPassing(report)).toEqual(['sampling.params:fail']);
    expect(item(report, 'sampling.params').explanation).toMatch(/greedily.*TOP_P with k=1/);
  });

  it('sampler params that differ from generation_config', async () => {
    const report = await check(qwen25, { ...CLEAN, samplerParams: { type: 'TOP_P', k: 40, p: 0.95, temperature: 1 } });
    expect(notPassing(report)).toEqual(['sampling.params:warn']);
    expect(item(report, 'sampling.params').explanation).toMatch(/temperature 1 instead of 0.7, top_k 40 instead of 20, top_p 0.95 instead of 0.8/);
  });

  it('a repetition penalty the runtime cannot apply', async () => {
    const report = await check(penaltyModel, CLEAN);
    expect(notPassing(report)).toEqual(['sampling.repetition-penalty:warn']);
    expect(item(report, 'sampling.repetition-penalty').fixableByMetadata).toBe(false);
  });

  it('max_num_tokens below the intended context', async () => {
    const report = await check(qwen25, { ...CLEAN, maxNumTokens: 1024 }, { intendedContext: 4096 });
    expect(item(report, 'context.max-num-tokens').status).toBe('warn');
    expect(item(report, 'context.intended').status).toBe('fail');
    expect(item(report, 'context.intended').fixableByMetadata).toBe(true);
  });

  it('max_num_tokens beyond the KV cache, and an intended context only re-conversion can give', async () => {
    const report = await check(qwen25, { ...CLEAN, maxNumTokens: 8192 }, { intendedContext: 16384 });
    expect(item(report, 'context.max-num-tokens').status).toBe('fail');
    const intended = item(report, 'context.intended');
    expect(intended.status).toBe('fail');
    expect(intended.fixableByMetadata).toBe(false);
    expect(intended.fix).toMatch(/kv_cache_max_len/);
  });

  it('a different tokenizer in the bundle', async () => {
    // Packaged from a sibling folder that holds another model's tokenizer.
    const sibling = path.join(tmp, 'sibling');
    mkdirSync(sibling);
    copyFileSync(path.join(FIXTURES, 'litertlm/tokenizer.json'), path.join(sibling, 'tokenizer.json'));
    const report = await check(qwen25, CLEAN, { tokenizerFrom: sibling });
    const tok = item(report, 'tokenizer.identical');
    expect(tok.status).toBe('fail');
    expect(tok.explanation).toMatch(/vocabulary differs/);
    expect(tok.evidence.some((e) => e.value.startsWith('merges differ'))).toBe(true);
  });

  it('int4 weights warn about their quality impact', async () => {
    const report = await check(qwen25, CLEAN, { tflite: { kvCacheMaxLen: 4096, weightType: 'INT4' } });
    expect(notPassing(report)).toEqual(['quantization.scheme:warn']);
  });

  it('a wrong llm_model_type', async () => {
    const report = await check(qwen25, { ...CLEAN, llmModelType: { gemma3: {} } });
    expect(notPassing(report)).toEqual(['metadata.model-type:warn']);
  });

  it("Python methods the runtime's minijinja cannot call", async () => {
    const template = QWEN25_TEMPLATE.replace("messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system", "messages[0].get('role') == 'system' %}\n        {{- '<|im_start|>system");
    const model = await loadModelSide(writeQwenModelFolder(path.join(tmp, 'get'), { chatTemplate: template, generationConfig: GEN_NO_PENALTY }));
    const report = await check(model, { ...CLEAN, jinjaPromptTemplate: template });
    const compat = item(report, 'prompt-format.runtime-compatible');
    expect(compat.status).toBe('warn');
    expect(compat.evidence[0]!.label).toMatch(/^line \d+: \.get\(\)$/);
  });

  it("the real Qwen3 template's history re-render problem (LiteRT-LM #3443)", async () => {
    const qwen3 = await loadModelSide(writeQwenModelFolder(path.join(tmp, 'qwen3'), { flavor: 'qwen3', generationConfig: GEN_NO_PENALTY }));
    const report = await check(qwen3, { ...CLEAN, jinjaPromptTemplate: qwen3.chatTemplate!, llmModelType: { qwen3: {} } });
    expect(item(report, 'prompt-format.text').status).toBe('pass');
    const stable = item(report, 'prompt-format.multi-turn-stable');
    expect(stable.status).toBe('warn');
    expect(stable.evidence.map((e) => e.value).join(' ')).toContain('<think>');
  });
});

describe('the intended context against max_position_embeddings (32768 here)', () => {
  const evidenceOf = (i: CheckItem) => Object.fromEntries(i.evidence.map((e) => [e.label, e.value]));

  it('warns when the bundle holds the context but the model was not trained for it', async () => {
    const report = await check(qwen25, { ...CLEAN, maxNumTokens: 65536 }, { intendedContext: 65536, tflite: { kvCacheMaxLen: 65536 } });
    const intended = item(report, 'context.intended');
    expect(intended.status).toBe('warn');
    expect(intended.explanation).toMatch(/intended context of 65536 exceeds the model's max_position_embeddings of 32768/);
    expect(evidenceOf(intended)).toMatchObject({ 'intended context': '65536', max_position_embeddings: '32768', '.tflite KV-cache length': '65536' });
  });

  it('still warns when the KV-cache length and max_num_tokens are unknown', async () => {
    const { maxNumTokens: _omit, ...noLimit } = CLEAN;
    // A .tflite without kv_cache inputs: nothing in the bundle says how long a context it holds.
    const report = await check(qwen25, noLimit, { intendedContext: 65536, tflite: { layers: 0 } });
    const intended = item(report, 'context.intended');
    expect(intended.status).toBe('warn');
    expect(intended.explanation).toMatch(/exceeds the model's max_position_embeddings of 32768, beyond what it was trained for/);
    expect(intended.explanation).toMatch(/could not be checked/);
    expect(intended.fixableByMetadata).toBe(false);
    expect(evidenceOf(intended)).toMatchObject({ 'intended context': '65536', max_position_embeddings: '32768', '.tflite KV-cache length': '(unknown)' });
  });

  it('fails on a KV cache too short, and says the training limit too', async () => {
    const intended = item(await check(qwen25, CLEAN, { intendedContext: 65536 }), 'context.intended');
    expect(intended.status).toBe('fail');
    expect(intended.fix).toMatch(/kv_cache_max_len ≥ 65536/);
    expect(intended.explanation).toMatch(/also exceeds the model's max_position_embeddings of 32768/);
  });
});

describe('what running bundles in LiteRT-LM 0.17.1 taught (engine.*)', () => {
  it('a GREEDY sampler fails: the CPU sampler implements TOP_P only', async () => {
    const report = await check(qwen25, { ...CLEAN, samplerParams: { type: 'GREEDY' } });
    expect(item(report, 'engine.sampler-type')).toMatchObject({ status: 'fail', fixableByMetadata: true });
    expect(item(report, 'engine.sampler-type').explanation).toContain('"Sampler type: 3 not implemented yet"');
    expect(item(report, 'engine.sampler-type').fix).toMatch(/TOP_P with k = 1/);
    expect(item(await check(qwen25, CLEAN), 'engine.sampler-type').status).toBe('pass');
  });

  it("Qwen2.5's stock template concatenates message.content: warns, naming the runtime version; the fix's preamble renders the same text", async () => {
    const report = await check(qwen25, { ...CLEAN, jinjaPromptTemplate: QWEN25_TEMPLATE });
    const typed = item(report, 'engine.typed-content');
    expect(typed.status).toBe('warn');
    expect(typed.explanation).toMatch(/In LiteRT-LM 0\.17\.1 .* concatenated as a sequence/);
    // The preamble changes nothing for string content: the prompt-format checks still pass.
    const clean = await check(qwen25, CLEAN);
    expect(item(clean, 'engine.typed-content').status).toBe('pass');
    expect(item(clean, 'prompt-format.text').status).toBe('pass');
    expect(notPassing(clean)).toEqual([]);
  });

  it('KV-cache outputs named differently from the inputs fail', async () => {
    const report = await check(qwen25, CLEAN, { tflite: { kvCacheMaxLen: 4096, kvOutputs: 'suffixed' } });
    expect(item(report, 'engine.kv-output-names').status).toBe('fail');
    expect(item(report, 'engine.kv-output-names').explanation).toContain('kv_cache_k_0_out');
    expect(notPassing(report)).toEqual(['engine.kv-output-names:fail']);
  });

  it('a BTNH cache without a mask input is misread as a context of the head count', async () => {
    const report = await check(qwen25, CLEAN, { tflite: { kvCacheMaxLen: 4096, mask: false, kvHeads: 2 } });
    const read = item(report, 'engine.context-read');
    expect(read.status).toBe('fail');
    expect(read.explanation).toMatch(/reads a context of 2 tokens \(dim 2 of kv_cache_k_0 \[1,4096,2,64\]/);
    // The transposed layout (K [1, heads, S, head_dim]) is read right without a mask.
    const transposed = await check(qwen25, CLEAN, { tflite: { kvCacheMaxLen: 4096, mask: false, kvLayout: 'transposed' } });
    expect(item(transposed, 'engine.context-read').status).toBe('pass');
  });
});

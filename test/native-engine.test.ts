/**
 * A bundle the native converter wrote, run in LiteRT-LM's own engine
 * (`@litert-lm/core`, CPU, in the workbench's engine host): its greedy
 * continuation of a raw prompt (Session API, no template) must equal the
 * plain-PyTorch reference's greedy continuation of the same token ids for at
 * least 16 tokens — the float export against the float reference, the int8
 * and blockwise int4 exports against the reference's emulation of the same
 * quantization (LiteRT-LM's wasm engine runs blockwise int4 FULLY_CONNECTED
 * and EMBEDDING_LOOKUP). The tokens are compared as
 * the text the bundle's own tokenizer makes of them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BundleRunnerHost } from '../main/core/bundleRunner/host.js';
import type { NativeQuantization } from '../main/core/nativeConvert/decoderGraph.js';
import { HfTokenizer } from '../main/core/tokenizer/hfTokenizer.js';
import { referenceLogits } from './support/referenceLm.js';
import { writeRunnableBundle } from './support/runnableBundle.js';

const PROMPT = 'The workbench converts a fine-tuned model for the phone, and then it';
const STEPS = 18;

let dir: string;
const host = new BundleRunnerHost();
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'native-engine-'));
});
afterAll(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

describe('native bundles in LiteRT-LM’s engine', () => {
  test.each<[NativeQuantization, string]>([
    ['none', 'none'],
    ['dynamic_int8', 'dynamic_int8'],
    ['dynamic_int4_block32', 'dynamic_int4_block32'],
  ])('%s export: greedy raw continuation equals the %s reference for 18 tokens', async (quantize, emulate) => {
    const root = path.join(dir, quantize);
    const { modelDir, bundle } = await writeRunnableBundle(root, { quantize, kv: 128, prefill: [8, 32], decoder: { seed: 11 } });
    const tokenizer = HfTokenizer.fromJson(await readFile(path.join(modelDir, 'tokenizer.json'), 'utf8'));
    const ids = tokenizer.encode(PROMPT);

    const chat = await host.chat({ bundlePath: bundle, messages: [{ role: 'user', content: PROMPT }], options: { raw: true, greedy: true, maxTokens: STEPS } }, {});
    // Qwen has no start token: the engine fed exactly the prompt's ids.
    expect(chat.promptTokens).toBe(ids.length);
    const reference = await referenceLogits(modelDir, ids, STEPS, { emulate });
    const expected = tokenizer.decode(reference.tokens);
    expect(chat.stopReason).toBe('max-tokens');
    expect(reference.tokens.length).toBeGreaterThanOrEqual(16);
    expect(chat.text).toBe(expected);
  }, 180_000);
});

/**
 * A Gemma 3 bundle the native converter wrote and the workbench packaged,
 * answering in LiteRT-LM's own engine (`@litert-lm/core`, CPU): a tiny random
 * Gemma 3 (local and global layers, a window of 5, GQA) with a Gemma-style
 * SentencePiece tokenizer.model (the tokenizer section LiteRT-LM's own Gemma
 * 3 bundles carry), the Gemma chat template, <eos>/<end_of_turn> stops. Its
 * greedy raw continuation must equal the plain-PyTorch Gemma 3 reference's
 * greedy continuation of the same ids (float export against the float
 * reference), compared as the text the tokenizer makes of them.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BundleRunnerHost } from '../main/core/bundleRunner/host.js';
import { convertNative } from '../main/core/nativeConvert/convertModel.js';
import { packageModel } from '../main/core/packager/package.js';
import { readLitertlm } from '../main/core/formats/litertlm.js';
import { referenceLogits } from './support/referenceLm.js';
import { sentencePieceModel } from './support/sentencePieceModel.js';
import { writeTinyGemma3 } from './support/tinyGemma3.js';

/** Gemma's ids for the specials (0 pad, 1 eos, 2 bos, 3 unk), then turn markers, '▁' and single characters: encoding is one piece per character. */
const CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.,';
const PIECES: [string, number][] = [
  ['<pad>', 3],
  ['<eos>', 3],
  ['<bos>', 3],
  ['<unk>', 2],
  ['<start_of_turn>', 4],
  ['<end_of_turn>', 4],
  ['▁', 1],
  ...[...CHARS].map((c): [string, number] => [c, 1]),
];
const GEMMA_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\\n' }}{% if message['content'] is string %}{{ message['content'] | trim }}{% else %}{% for part in message['content'] %}{{ part['text'] | trim }}{% endfor %}{% endif %}{{ '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

const PROMPT = 'the workbench converts gemma for the phone';
const STEPS = 16;

/** SentencePiece with add_dummy_prefix: '▁' before the text and for every space. */
function encode(text: string): number[] {
  return [...`▁${text.replaceAll(' ', '▁')}`].map((c) => PIECES.findIndex(([p]) => p === c));
}

let dir: string;
const host = new BundleRunnerHost();
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'native-gemma3-engine-'));
});
afterAll(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a native Gemma 3 bundle in LiteRT-LM’s engine', () => {
  test('carries Gemma 3 metadata and a SentencePiece tokenizer, and answers with the reference’s greedy continuation', async () => {
    const modelDir = await writeTinyGemma3(path.join(dir, 'model'), { seed: 2, embedStd: 0.3, vocab: PIECES.length, dtype: 'F32' });
    writeFileSync(path.join(modelDir, 'tokenizer.model'), sentencePieceModel(PIECES));
    writeFileSync(
      path.join(modelDir, 'tokenizer_config.json'),
      JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false, chat_template: GEMMA_TEMPLATE }),
    );
    writeFileSync(path.join(modelDir, 'generation_config.json'), JSON.stringify({ bos_token_id: 2, eos_token_id: [1, 5], pad_token_id: 0, do_sample: false }));
    const tflite = path.join(dir, 'model.tflite');
    await convertNative({ modelDir, outPath: tflite, quantize: 'none', kvCacheMaxLen: 128, prefillSeqLens: [8, 32], kvLayout: 'btnh' });
    const bundle = path.join(dir, 'model.litertlm');
    await packageModel({ tflitePath: tflite, modelDir, outPath: bundle });

    const summary = await readLitertlm(bundle);
    const section = summary.sections.find((s) => s.content.kind === 'llm-metadata')?.content;
    const metadata = section?.kind === 'llm-metadata' ? section.metadata : {};
    expect(metadata.llmModelType).toEqual({ gemma3: {} });
    expect(metadata.stopTokens).toEqual([{ tokenIds: { ids: [1] } }, { tokenIds: { ids: [5] } }]);
    expect(metadata.jinjaPromptTemplate).toContain('<start_of_turn>');
    expect(summary.sections.map((s) => s.dataTypeName)).toContain('SP_Tokenizer');

    const ids = encode(PROMPT);
    const startToken = metadata.startToken;
    const start = startToken && 'tokenIds' in startToken ? startToken.tokenIds.ids : [];
    const chat = await host.chat({ bundlePath: bundle, messages: [{ role: 'user', content: PROMPT }], options: { raw: true, greedy: true, maxTokens: STEPS } }, {});
    const reference = await referenceLogits(modelDir, [...start, ...ids], STEPS);
    const stops = new Set([1, 5]);
    const until = reference.tokens.findIndex((t) => stops.has(t));
    const expectedIds = until < 0 ? reference.tokens : reference.tokens.slice(0, until);
    const expected = expectedIds.map((t) => PIECES[t]![1] === 1 ? PIECES[t]![0] : '').join('').replaceAll('▁', ' ');
    expect(expectedIds.length, 'the reference continuation is long enough to mean something').toBeGreaterThanOrEqual(8);
    expect(new Set(expectedIds).size, 'and not one token repeated').toBeGreaterThanOrEqual(5);
    expect(chat.text.trim()).toBe(expected.trim());
  }, 300_000);
});

/**
 * The tokenizer a bundle carries, as the bundle runner sees it (token counts,
 * stop-token text): a SentencePiece bundle stays "not tokenized" (the
 * workbench has no SentencePiece encoder; the engine tokenizes it itself), a
 * Gemma-style tokenizer.json bundle is now tokenized. Bundles are written by
 * the workbench's own packager from a synthetic .tflite.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageModel } from '../packager/package.js';
import { writeSyntheticTflite } from '../../../test/support/syntheticTflite.js';
import { GEMMA_LIKE_PIECES, sentencePieceModel } from '../../../test/support/sentencePieceModel.js';
import { GEMMA_IDS, gemmaTokenizerJson, writeGemmaTokenizer } from '../../../test/support/gemmaTokenizer.js';
import { bundleFacts } from './bundleFacts.js';

let dir: string;
let tflitePath: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bundle-facts-'));
  tflitePath = path.join(dir, 'model.tflite');
  await writeSyntheticTflite(tflitePath, { kvCacheMaxLen: 256 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bundleFacts: the bundled tokenizer', () => {
  it('leaves a SentencePiece bundle untokenized and names its stop tokens by id', async () => {
    const spDir = path.join(dir, 'sp');
    await mkdir(spDir);
    await writeFile(path.join(spDir, 'tokenizer.model'), sentencePieceModel(GEMMA_LIKE_PIECES));
    await writeFile(path.join(spDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>' }));
    const out = path.join(dir, 'sp.litertlm');
    await packageModel({ tflitePath, modelDir: spDir, outPath: out, metadata: { stopTokens: [{ tokenIds: { ids: [1] } }, { tokenStr: '<end_of_turn>' }] } });
    const facts = await bundleFacts(out);
    expect(facts.tokenizer).toBeNull();
    expect(facts.stopTokens).toEqual(['ids [1]', '<end_of_turn>']);
  });

  it('tokenizes a bundle carrying a Gemma-style tokenizer.json (byte fallback, "▁")', async () => {
    const gemmaDir = path.join(dir, 'gemma');
    writeGemmaTokenizer(gemmaDir, { config: true });
    const out = path.join(dir, 'gemma.litertlm');
    await packageModel({ tflitePath, modelDir: gemmaDir, outPath: out, metadata: { stopTokens: [{ tokenIds: { ids: [GEMMA_IDS.eos] } }, { tokenIds: { ids: [GEMMA_IDS.endOfTurn] } }] } });
    const facts = await bundleFacts(out);
    expect(facts.tokenizer).not.toBeNull();
    expect(facts.stopTokens).toEqual(['<eos>', '<end_of_turn>']);
    const vocab = gemmaTokenizerJson().model.vocab;
    expect(facts.tokenizer!.encode('<start_of_turn>user\nHello world é')).toEqual([
      GEMMA_IDS.startOfTurn, vocab['user'], GEMMA_IDS.newline, vocab['Hello'], vocab['▁world'], vocab['▁'], vocab['<0xC3>'], vocab['<0xA9>'],
    ]);
  });
});


import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { GEMMA_LIKE_PIECES, sentencePieceModel } from '../../../test/support/sentencePieceModel.js';
import { writeSyntheticTflite } from '../../../test/support/syntheticTflite.js';
import { readBundleTokenizerJson, readLitertlm, readLitertlmHeader, readLlmMetadata, sectionStream } from '../formats/litertlm.js';
import { readTflite } from '../formats/tflite.js';
import { packageModel, rewriteBundleMetadata } from './package.js';
import { writeLitertlm } from './writer.js';

const FIXTURES = '/work/shared/fixtures';
const TOKENIZER = path.join(FIXTURES, 'litertlm', 'tokenizer.json');
let dir: string;
let modelDir: string;
let tflitePath: string;

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

async function expectCode(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(WorkbenchError);
  expect((error as WorkbenchError).code).toBe(code);
  expect((error as WorkbenchError).message).toMatch(message);
}

/** Every section starts on a 16 KiB boundary and the bytes up to the next boundary are zero, the last one too. */
async function expectLayout(file: string): Promise<void> {
  const header = readLitertlmHeader(file);
  const bytes = await readFile(file);
  expect(bytes.byteLength % 16384).toBe(0);
  expect(bytes.subarray(header.headerEnd, header.sections[0]!.beginOffset).every((b) => b === 0)).toBe(true);
  let previousEnd = header.headerEnd;
  for (const s of header.sections) {
    expect(s.beginOffset % 16384).toBe(0);
    expect(s.beginOffset).toBe(Math.ceil(previousEnd / 16384) * 16384);
    const padEnd = Math.ceil(s.endOffset / 16384) * 16384;
    expect(bytes.subarray(s.endOffset, padEnd).every((b) => b === 0)).toBe(true);
    previousEnd = s.endOffset;
  }
  expect(bytes.byteLength).toBe(Math.ceil(previousEnd / 16384) * 16384);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'packager-'));
  // A ChatML model folder (SmolLM2/Qwen2.5-Instruct style) with the fixture's 49k-token tokenizer:
  // no BOS, EOS <|im_end|> (id 2), <|endoftext|> id 0, a template that injects a default system prompt.
  modelDir = path.join(dir, 'chatml-ft');
  await mkdir(modelDir);
  await symlink(TOKENIZER, path.join(modelDir, 'tokenizer.json'));
  await writeFile(
    path.join(modelDir, 'tokenizer_config.json'),
    JSON.stringify({
      bos_token: null,
      eos_token: '<|im_end|>',
      pad_token: '<|endoftext|>',
      add_bos_token: false,
      chat_template:
        "{%- for message in messages %}{%- if loop.first and message.role != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}" +
        "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
    }),
  );
  await writeFile(path.join(modelDir, 'config.json'), JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', eos_token_id: 2, bos_token_id: 0 }));
  await writeFile(
    path.join(modelDir, 'generation_config.json'),
    JSON.stringify({ bos_token_id: 0, do_sample: true, eos_token_id: [2, 0], repetition_penalty: 1.05, temperature: 0.7, top_k: 20, top_p: 0.8 }),
  );
  tflitePath = path.join(dir, 'model.tflite');
  await writeSyntheticTflite(tflitePath, { layers: 2, kvCacheMaxLen: 4096, prefillLengths: [128, 1024], weightBytesEach: 50_000 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeLitertlm', () => {
  it('packs the fixture tokenizer.json into a bundle the reader decodes like test_hf_tokenizer.litertlm', async () => {
    const out = path.join(dir, 'tokenizer-only.litertlm');
    await writeLitertlm(out, { systemMetadata: [{ key: 'arch', value: 'all' }], sections: [{ dataType: 6, payload: { kind: 'zlib-file', path: TOKENIZER } }] });
    const ours = await readLitertlm(out);
    const theirs = await readLitertlm(path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm'));
    expect(ours.version.major).toBe(1);
    expect(ours.sections.map((s) => [s.dataType, s.beginOffset, s.aligned])).toEqual(theirs.sections.map((s) => [s.dataType, s.beginOffset, s.aligned]));
    expect(ours.sections[0]?.content).toEqual(theirs.sections[0]?.content);
    const ourJson = await readBundleTokenizerJson(out);
    const theirJson = await readBundleTokenizerJson(path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm'));
    expect(Buffer.compare(Buffer.from(ourJson!.bytes), Buffer.from(theirJson!.bytes))).toBe(0);
    await expectLayout(out);
    // The fixture follows the same rules.
    await expectLayout(path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm'));
  });

  it('streams a large section with memory independent of its size', async () => {
    const big = path.join(dir, 'big.bin');
    const size = 384 * 1024 * 1024 + 12345;
    await writeFile(big, '');
    await (await import('node:fs/promises')).truncate(big, size);
    const out = path.join(dir, 'big.litertlm');
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let largestStep = 0;
    let last = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);
    try {
      await writeLitertlm(out, {
        systemMetadata: [],
        sections: [{ dataType: 1, payload: { kind: 'file', path: big } }],
        onProgress: (p) => {
          largestStep = Math.max(largestStep, p.doneBytes - last);
          last = p.doneBytes;
          peak = Math.max(peak, process.memoryUsage().rss);
        },
      });
    } finally {
      clearInterval(timer);
    }
    expect(last).toBe(size);
    expect(largestStep).toBeLessThanOrEqual(1024 * 1024);
    expect(peak - baseline).toBeLessThan(96 * 1024 * 1024);
    const header = readLitertlmHeader(out);
    expect(header.sections[0]).toMatchObject({ beginOffset: 16384, endOffset: 16384 + size });
    expect((await stat(out)).size).toBe(Math.ceil((16384 + size) / 16384) * 16384);
    await rm(out);
    await rm(big);
  });

  it('leaves an existing file untouched when writing fails', async () => {
    const out = path.join(dir, 'keep.litertlm');
    await writeFile(out, 'precious');
    await expectCode(
      writeLitertlm(out, { systemMetadata: [], sections: [{ dataType: 1, payload: { kind: 'file', path: path.join(dir, 'missing.bin') } }] }),
      'file_not_found',
      /missing\.bin does not exist/,
    );
    expect(await readFile(out, 'utf8')).toBe('precious');
  });
});

describe('packageModel', () => {
  it('packages a .tflite with the folder tokenizer and derived metadata, and reads back identically', async () => {
    const out = path.join(dir, 'model.litertlm');
    const result = await packageModel({ tflitePath, modelDir, outPath: out });
    const summary = await readLitertlm(out);
    expect(summary.sections.map((s) => s.dataTypeName)).toEqual(['LlmMetadataProto', 'HF_Tokenizer_Zlib', 'TFLiteModel']);
    expect(summary.sections[2]?.items).toEqual([{ key: 'model_type', type: 'string', value: 'tf_lite_prefill_decode' }]);
    expect(summary.systemMetadata.map((e) => e.key)).toEqual(['uuid', 'creation_timestamp', 'generator']);
    await expectLayout(out);

    // The embedded model is byte-identical and reads like the original.
    const section = summary.sections[2]!;
    expect(await sha256Of(sectionStream(out, section))).toBe(await sha256Of(createReadStream(tflitePath)));
    const embedded = section.content.kind === 'tflite' ? section.content.tflite : null;
    const original = readTflite(tflitePath);
    expect({ ...embedded, path: '', baseOffset: 0 }).toEqual({ ...original, path: '', baseOffset: 0 });

    // The tokenizer is the folder's tokenizer.json.
    const tokenizer = await readBundleTokenizerJson(out);
    expect(Buffer.compare(Buffer.from(tokenizer!.bytes), readFileSync(TOKENIZER))).toBe(0);

    // Metadata: what the model folder calls for.
    const metadata = await readLlmMetadata(out);
    expect(metadata).toEqual(result.metadata);
    expect(metadata?.startToken).toBeUndefined();
    expect(metadata?.stopTokens).toEqual([{ tokenIds: { ids: [2] } }, { tokenIds: { ids: [0] } }]);
    expect(metadata?.samplerParams).toEqual({ type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 });
    expect(metadata?.maxNumTokens).toBe(4096);
    expect(metadata?.llmModelType).toEqual({ qwen2p5: {} });
    expect(metadata?.jinjaPromptTemplate).toContain('<|im_start|>');
    expect(result.metadataSources.stopTokens).toMatch(/EOS id\(s\) 2, 0 from generation_config\.json/);
    expect(result.warnings.join('\n')).toMatch(/repetition_penalty 1\.05/);
    expect(result.tflite).toEqual({ kvCacheMaxLen: 4096, prefillLengths: [128, 1024], quantScheme: 'dynamic_int8' });
  });

  it('applies overrides edited before packaging over the derived metadata', async () => {
    const out = path.join(dir, 'overrides.litertlm');
    const overrides = { samplerParams: { type: 'TOP_K' as const, k: 40, temperature: 0.5 }, stopTokens: [{ tokenStr: '<|im_end|>' }] };
    const result = await packageModel({ tflitePath, modelDir, outPath: out, metadataOverrides: overrides });
    const metadata = await readLlmMetadata(out);
    // TOP_K is written as TOP_P with p = 1 (the same decoding; the CPU sampler implements TOP_P only).
    expect(metadata).toMatchObject({ ...overrides, samplerParams: { type: 'TOP_P', k: 40, p: 1, temperature: 0.5 }, maxNumTokens: 4096, llmModelType: { qwen2p5: {} } });
    expect(result.warnings.join('\n')).toMatch(/The TOP_K sampler was written as TOP_P with k = 40, p = 1 \(top-k only\)/);
    expect(result.metadataSources.samplerParams).toBe('Edited before packaging.');
    expect(result.metadataSources.maxNumTokens).toMatch(/KV-cache length/);
    await expectCode(packageModel({ tflitePath, modelDir, outPath: out, metadata: {}, metadataOverrides: {} }), 'bad_package_input', /not both/);
  });

  it('writes given metadata verbatim, except a GREEDY sampler, which it writes as TOP_P k = 1 and says so', async () => {
    const out = path.join(dir, 'given.litertlm');
    const metadata = { stopTokens: [{ tokenStr: '<|im_end|>' }], maxNumTokens: 2048, samplerParams: { type: 'TOP_P' as const, k: 20, p: 0.8, temperature: 0.7 } };
    const result = await packageModel({ tflitePath, modelDir, outPath: out, metadata });
    expect(result.metadataSources).toEqual({});
    expect(await readLlmMetadata(out)).toEqual(metadata);

    const greedy = await packageModel({ tflitePath, modelDir, outPath: out, metadata: { ...metadata, samplerParams: { type: 'GREEDY' } }, overwrite: true });
    expect((await readLlmMetadata(out))?.samplerParams).toEqual({ type: 'TOP_P', k: 1, p: 1, temperature: 1 });
    expect(greedy.warnings).toContain('The GREEDY sampler was written as TOP_P with k = 1 (greedy): LiteRT-LM\'s CPU sampler implements TOP_P only, and GREEDY fails at decode ("Sampler type: 3 not implemented yet").');
    const rewritten = await rewriteBundleMetadata({ bundlePath: out, outPath: out, metadata: { ...metadata, samplerParams: { type: 'GREEDY' } } });
    expect(rewritten.notes[0]).toMatch(/^The GREEDY sampler was written as TOP_P with k = 1/);
    expect((await readLlmMetadata(out))?.samplerParams?.type).toBe('TOP_P');
  });

  it('always writes an LlmMetadata section, even for minimal metadata', async () => {
    const out = path.join(dir, 'minimal-metadata.litertlm');
    await packageModel({ tflitePath, modelDir, outPath: out, metadata: { stopTokens: [{ tokenIds: { ids: [0] } }] } });
    expect(await readLlmMetadata(out)).toEqual({ stopTokens: [{ tokenIds: { ids: [0] } }] });
  });

  it('refuses metadata without stop tokens, naming the fix, and writes nothing', async () => {
    const out = path.join(dir, 'no-stop-tokens.litertlm');
    await expectCode(packageModel({ tflitePath, modelDir, outPath: out, metadata: {} }), 'bad_metadata', /A bundle must have stop tokens .* add the model's EOS and end-of-turn ids as stopTokens/);
    await expectCode(packageModel({ tflitePath, modelDir, outPath: out, metadataOverrides: { stopTokens: [] } }), 'bad_metadata', /A bundle must have stop tokens/);
    expect(existsSync(out)).toBe(false);
  });

  it('packages a SentencePiece tokenizer.model as an SP_Tokenizer section, byte for byte', async () => {
    const spDir = path.join(dir, 'gemma-like');
    await mkdir(spDir);
    const model = sentencePieceModel(GEMMA_LIKE_PIECES);
    await writeFile(path.join(spDir, 'tokenizer.model'), model);
    await writeFile(path.join(spDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>', add_bos_token: true }));
    const out = path.join(dir, 'sp.litertlm');
    const metadata = { startToken: { tokenIds: { ids: [2] } }, stopTokens: [{ tokenIds: { ids: [1] } }, { tokenIds: { ids: [5] } }] };
    const result = await packageModel({ tflitePath, modelDir: spDir, outPath: out, metadata });
    expect(result.tokenizerKind).toBe('sentencepiece');
    const summary = await readLitertlm(out);
    const section = summary.sections[1]!;
    expect(section.dataTypeName).toBe('SP_Tokenizer');
    expect(section.content).toMatchObject({ kind: 'tokenizer', tokenizer: { kind: 'sentencepiece', pieceCount: 8 } });
    expect(await sha256Of(sectionStream(out, section))).toBe(createHash('sha256').update(model).digest('hex'));
    await expectLayout(out);
  });

  it('a Gemma 3 folder with both tokenizer.json and tokenizer.model packages the SentencePiece one (as LiteRT-LM’s own Gemma 3 bundles); another family packages tokenizer.json', async () => {
    const metadata = { stopTokens: [{ tokenIds: { ids: [1] } }] };
    const both = async (name: string, config: Record<string, unknown>) => {
      const folder = path.join(dir, name);
      await mkdir(folder);
      await writeFile(path.join(folder, 'tokenizer.model'), sentencePieceModel(GEMMA_LIKE_PIECES));
      await symlink(TOKENIZER, path.join(folder, 'tokenizer.json'));
      await writeFile(path.join(folder, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>' }));
      await writeFile(path.join(folder, 'config.json'), JSON.stringify(config));
      return (await packageModel({ tflitePath, modelDir: folder, outPath: path.join(dir, `${name}.litertlm`), metadata })).tokenizerKind;
    };
    expect(await both('gemma3-both', { architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text' })).toBe('sentencepiece');
    expect(await both('gemma3-multimodal-both', { architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3' })).toBe('sentencepiece');
    expect(await both('llama-both', { architectures: ['LlamaForCausalLM'], model_type: 'llama' })).toBe('hf-json');
  });

  it('refuses bad inputs with clear errors and writes nothing', async () => {
    await expectCode(packageModel({ tflitePath, modelDir, outPath: tflitePath }), 'bad_package_input', /is also an input/);
    const notTflite = path.join(dir, 'not.tflite');
    await writeFile(notTflite, 'definitely not a flatbuffer');
    await expectCode(packageModel({ tflitePath: notTflite, modelDir, outPath: path.join(dir, 'x.litertlm') }), 'bad_magic', /not a TFLite model/);
    const empty = path.join(dir, 'no-tokenizer');
    await mkdir(empty);
    await writeFile(path.join(empty, 'config.json'), '{}');
    await expectCode(packageModel({ tflitePath, modelDir: empty, outPath: path.join(dir, 'x.litertlm') }), 'no_tokenizer', /neither tokenizer\.json nor tokenizer\.model/);
    await expectCode(
      packageModel({ tflitePath, modelDir, outPath: path.join(dir, 'x.litertlm'), metadata: { stopTokens: [{ tokenIds: { ids: [0] } }], samplerParams: { type: 'NUCLEUS' } } as never }),
      'bad_metadata',
      /samplerParams\.type/,
    );
    await writeFile(path.join(dir, 'a-file'), 'not a folder');
    await expectCode(packageModel({ tflitePath, modelDir, outPath: path.join(dir, 'a-file', 'x.litertlm') }), 'bad_package_input', /output folder .*a-file cannot be created: a file stands in its path/);
    await expect(stat(path.join(dir, 'x.litertlm'))).rejects.toThrow();
  });

  it('refuses metadata the bundle must not carry, naming each problem, and writes nothing', async () => {
    const outPath = path.join(dir, 'bad-metadata.litertlm');
    await expectCode(
      packageModel({ tflitePath, modelDir, outPath, metadataOverrides: { stopTokens: [{ tokenIds: { ids: [999_999_999] } }], samplerParams: { type: 'TOP_P', p: 2.5 } } }),
      'bad_metadata',
      /The metadata cannot be packaged: Stop token 1: id 999999999 is past the end of the vocabulary .* top-p must be above 0 and at most 1, not 2\.5\./,
    );
    await expect(stat(outPath)).rejects.toThrow();
  });

  it('creates a missing output folder with its parents', async () => {
    const outPath = path.join(dir, 'new', 'nested', 'x.litertlm');
    const result = await packageModel({ tflitePath, modelDir, outPath });
    expect(result.sizeBytes).toBe((await stat(outPath)).size);
  });
});

describe('rewriteBundleMetadata', () => {
  it('replaces the metadata in place and copies every other section byte for byte', async () => {
    const bundle = path.join(dir, 'fix-me.litertlm');
    await packageModel({ tflitePath, modelDir, outPath: bundle, metadata: { stopTokens: [{ tokenStr: '\n' }] } });
    const before = readLitertlmHeader(bundle);
    const hashes = await Promise.all(before.sections.slice(1).map((s) => sha256Of(sectionStream(bundle, s))));
    const fixed = { stopTokens: [{ tokenIds: { ids: [2] } }], maxNumTokens: 4096 };
    const result = await rewriteBundleMetadata({ bundlePath: bundle, outPath: bundle, metadata: fixed });
    expect(result.replaced).toBe(true);
    expect(await readLlmMetadata(bundle)).toEqual(fixed);
    const after = readLitertlmHeader(bundle);
    expect(await Promise.all(after.sections.slice(1).map((s) => sha256Of(sectionStream(bundle, s))))).toEqual(hashes);
    expect(after.sections.map((s) => s.items)).toEqual(before.sections.map((s) => s.items));
    expect(after.systemMetadata.find((e) => e.key === 'uuid')).toEqual(before.systemMetadata.find((e) => e.key === 'uuid'));
    await expectLayout(bundle);
  });

  it('adds metadata to a bundle that has none', async () => {
    const out = path.join(dir, 'fixture-with-metadata.litertlm');
    const fixture = path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm');
    const result = await rewriteBundleMetadata({ bundlePath: fixture, outPath: out, metadata: { stopTokens: [{ tokenStr: '<|im_end|>' }] } });
    expect(result.replaced).toBe(false);
    const summary = await readLitertlm(out);
    expect(summary.sections.map((s) => s.dataTypeName)).toEqual(['LlmMetadataProto', 'HF_Tokenizer_Zlib']);
    expect(summary.systemMetadata.filter((e) => e.key !== 'creation_timestamp')).toEqual([
      { key: 'arch', type: 'string', value: 'all' },
      { key: 'version', type: 'string', value: '0.1' },
    ]);
    const original = await readBundleTokenizerJson(fixture);
    const copied = await readBundleTokenizerJson(out);
    expect(copied?.summary.sha256).toBe(original?.summary.sha256);
  });
});

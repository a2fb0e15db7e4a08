import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfFolderSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { GEMMA_LIKE_PIECES, sentencePieceModel } from '../../../test/support/sentencePieceModel.js';
import { writeQwenLikePair } from '../../../test/support/mergeSupport.js';
import { hfFolderFormat, readHfFolder, readHfTokenizerJson, tokenIdOf } from './hfFolder.js';
import { probePath } from './reader.js';

const QWEN = '/work/shared/fixtures/qwen3-tokenizer';
let root: string;

/** A Qwen2.5-Instruct-like folder: the real Qwen tokenizer plus our own configs. */
/** A valid safetensors file of exactly `total` bytes (one 100-byte U8 tensor, the header padded with spaces): the folder reader checks headers now. */
function tinySafetensors(total: number): Buffer {
  const data = 100;
  const json = JSON.stringify({ w: { dtype: 'U8', shape: [data], data_offsets: [0, data] } });
  const header = json + ' '.repeat(total - 8 - json.length - data);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, Buffer.from(header), Buffer.alloc(data)]);
}

async function qwenFolder(name: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  await symlink(path.join(QWEN, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const files: Record<string, string | Buffer> = {
    'config.json': JSON.stringify({
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      hidden_size: 1536,
      num_hidden_layers: 28,
      num_attention_heads: 12,
      num_key_value_heads: 2,
      intermediate_size: 8960,
      vocab_size: 151936,
      max_position_embeddings: 32768,
      torch_dtype: 'bfloat16',
      tie_word_embeddings: true,
      bos_token_id: 151643,
      eos_token_id: 151645,
    }),
    'generation_config.json': JSON.stringify({
      bos_token_id: 151643,
      do_sample: true,
      eos_token_id: [151645, 151643],
      pad_token_id: 151643,
      repetition_penalty: 1.1,
      temperature: 0.7,
      top_k: 20,
      top_p: 0.8,
    }),
    'model.safetensors': tinySafetensors(1000),
    ...extra,
  };
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  if (!('tokenizer_config.json' in extra)) {
    await symlink(path.join(QWEN, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  }
  return dir;
}

async function expectCode(promise: Promise<unknown>, code: string, messagePart: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkbenchError);
  expect((error as WorkbenchError).code).toBe(code);
  expect((error as WorkbenchError).message).toMatch(messagePart);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'hf-folder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readHfFolder', () => {
  it('summarises a realistic Qwen folder', async () => {
    const dir = await qwenFolder('qwen');
    const summary = await readHfFolder(dir);
    expect(HfFolderSummary.parse(summary)).toEqual(summary);
    expect(summary.config).toMatchObject({ architectures: ['Qwen2ForCausalLM'], hiddenSize: 1536, numKeyValueHeads: 2, eosTokenIds: [151645], tieWordEmbeddings: true });
    expect(summary.generationConfig).toEqual({
      eosTokenIds: [151645, 151643],
      bosTokenId: 151643,
      padTokenId: 151643,
      doSample: true,
      temperature: 0.7,
      topK: 20,
      topP: 0.8,
      repetitionPenalty: 1.1,
      maxNewTokens: null,
      maxLength: null,
    });
    expect(summary.tokenizer).toMatchObject({ kind: 'hf-json', modelType: 'BPE', baseVocabSize: 151643, vocabSize: 151669, byteLevel: true });
    expect(summary.tokenizer?.kind === 'hf-json' && summary.tokenizer.addedTokens[2]).toEqual({ id: 151645, content: '<|im_end|>', special: true });
    expect(summary.tokenizerConfig).toMatchObject({ bosToken: null, eosToken: '<|im_end|>', padToken: '<|endoftext|>', chatTemplateSource: 'tokenizer_config.json', addBosToken: false });
    expect(summary.tokenizerConfig?.chatTemplate).toContain('<|im_start|>');
    expect(summary.weights).toEqual({ format: 'safetensors', files: [{ name: 'model.safetensors', sizeBytes: 1000 }], totalBytes: 1000, indexFile: null });
    expect(summary.warnings).toEqual([]);
    expect(tokenIdOf(summary, '<|im_end|>')).toBe(151645);
    expect(tokenIdOf(summary, '<|not-a-token|>')).toBeNull();
  });

  it('reads the list form of chat_template, AddedToken objects and an int eos_token_id', async () => {
    const dir = await qwenFolder('named-templates', {
      'tokenizer_config.json': JSON.stringify({
        bos_token: { content: '<s>', lstrip: false },
        eos_token: { __type: 'AddedToken', content: '</s>' },
        chat_template: [
          { name: 'default', template: '{{ messages[0].content }}' },
          { name: 'tool_use', template: '{{ tools }}' },
        ],
        added_tokens_decoder: { '2': { content: '</s>', special: true }, '1': { content: '<s>', special: true } },
      }),
      'generation_config.json': JSON.stringify({ eos_token_id: 2 }),
    });
    const summary = await readHfFolder(dir);
    expect(summary.tokenizerConfig?.chatTemplates.map((t) => t.name)).toEqual(['default', 'tool_use']);
    expect(summary.tokenizerConfig?.chatTemplate).toBe('{{ messages[0].content }}');
    expect(summary.tokenizerConfig?.bosToken).toBe('<s>');
    expect(summary.tokenizerConfig?.eosToken).toBe('</s>');
    expect(summary.tokenizerConfig?.addedTokens).toEqual([
      { id: 1, content: '<s>', special: true },
      { id: 2, content: '</s>', special: true },
    ]);
    expect(summary.generationConfig?.eosTokenIds).toEqual([2]);
    expect(summary.generationConfig?.temperature).toBeNull();
    expect(summary.warnings).toEqual([expect.stringMatching(/config\.json lists EOS id\(s\) 151645 that generation_config\.json does not/)]);
  });

  it('takes the template from chat_template.jinja when tokenizer_config has none', async () => {
    const dir = await qwenFolder('jinja-file', {
      'tokenizer_config.json': JSON.stringify({ eos_token: '<|im_end|>' }),
      'chat_template.jinja': '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}',
    });
    const summary = await readHfFolder(dir);
    expect(summary.tokenizerConfig?.chatTemplateSource).toBe('chat_template.jinja');
    expect(summary.tokenizerConfig?.chatTemplate).toMatch(/^\{% for m in messages/);
  });

  it('warns about what is missing and about disagreeing EOS lists', async () => {
    const dir = path.join(root, 'sparse');
    await mkdir(dir);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], eos_token_id: [1, 9] }));
    await writeFile(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 1 }));
    const summary = await readHfFolder(dir);
    expect(summary.tokenizer).toBeNull();
    expect(summary.weights.format).toBe('none');
    expect(summary.warnings.join('\n')).toMatch(/tokenizer\.json nor tokenizer\.model/);
    expect(summary.warnings.join('\n')).toMatch(/No chat template/);
    expect(summary.warnings.join('\n')).toMatch(/EOS id\(s\) 9/);
  });

  it('summarises a SentencePiece tokenizer.model when there is no tokenizer.json', async () => {
    const dir = path.join(root, 'gemma-sp');
    await mkdir(dir);
    await writeFile(path.join(dir, 'tokenizer.model'), sentencePieceModel(GEMMA_LIKE_PIECES));
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>', add_bos_token: true }));
    const summary = await readHfFolder(dir);
    expect(summary.tokenizer).toMatchObject({ kind: 'sentencepiece', modelType: 'BPE', pieceCount: 8 });
    expect(tokenIdOf(summary, '<end_of_turn>')).toBe(5);
    expect(tokenIdOf(summary, '<bos>')).toBe(2);
  });

  it('summarises a LoRA adapter folder: its settings, scale and weights header', async () => {
    const { adapterDir } = await writeQwenLikePair(path.join(root, 'pair'), { r: 4, alpha: 8, adapterConfig: { use_rslora: true, modules_to_save: ['lm_head'], rank_pattern: { q_proj: 2 } } });
    const summary = HfFolderSummary.parse(await readHfFolder(adapterDir));
    expect(summary.isAdapter).toBe(true);
    expect(summary.adapter).toMatchObject({ peftType: 'LORA', baseModel: 'Qwen/base', r: 4, loraAlpha: 8, scale: 4, useRslora: true, useDora: false, modulesToSave: ['lm_head'], hasPatterns: true, weightsFile: 'adapter_model.safetensors', tensorCount: 28 });
    expect(summary.adapter?.targetModules).toContain('q_proj');
    expect(summary.warnings).toEqual([]);
    // A model folder is not an adapter.
    expect((await readHfFolder(path.join(root, 'pair', 'base'))).adapter).toBeNull();
  });

  it('reads a nested text_config (multimodal configs)', async () => {
    const dir = path.join(root, 'gemma3');
    await mkdir(dir);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: { hidden_size: 2560, num_hidden_layers: 34, eos_token_id: [1, 106] } }));
    const summary = await readHfFolder(dir);
    expect(summary.config).toMatchObject({ hiddenSize: 2560, numHiddenLayers: 34, eosTokenIds: [1, 106], fromTextConfig: true });
  });

  it('refuses bad input with a clear error', async () => {
    const bad = await qwenFolder('bad-json', { 'generation_config.json': '{"eos_token_id": [1, 2' });
    await expectCode(readHfFolder(bad), 'bad_json', /generation_config\.json in .* is not valid JSON/);
    const arrayConfig = await qwenFolder('array-json', { 'config.json': '[1, 2]' });
    await expectCode(readHfFolder(arrayConfig), 'bad_json', /config\.json in .* must hold a JSON object/);
    await expectCode(readHfFolder(path.join(root, 'nope')), 'file_not_found', /does not exist/);
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    await expectCode(readHfFolder(empty), 'not_model_folder', /is not a Hugging Face model folder/);
    await expectCode(readHfFolder(path.join(QWEN, 'tokenizer.json')), 'not_model_folder', /is a file/);
    const badTokenizer = path.join(root, 'bad-tokenizer');
    await mkdir(badTokenizer);
    await writeFile(path.join(badTokenizer, 'tokenizer.json'), '{"version": "1.0"}');
    await expectCode(readHfFolder(badTokenizer), 'bad_json', /has no "model" object/);
    // Wrong shapes inside "model" (issue 18: "merges": "x" printed a TypeError stack): one sentence, bad_json.
    for (const [model, message] of [
      [{ type: 'BPE', vocab: { a: 0 }, merges: 'x' }, /has "model\.merges" of "x", not a list of merges/],
      [{ type: 'BPE', vocab: 'abc', merges: [] }, /"model\.vocab" that is neither/],
    ] as const) {
      await writeFile(path.join(badTokenizer, 'tokenizer.json'), JSON.stringify({ model }));
      await expectCode(readHfFolder(badTokenizer), 'bad_json', message);
    }
    await writeFile(path.join(badTokenizer, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] }, added_tokens: 'x' }));
    await expectCode(readHfFolder(badTokenizer), 'bad_json', /"added_tokens" that is not a list/);
  });

  it('matches folders with model files only, and exposes the tokenizer JSON', async () => {
    const dir = await qwenFolder('match');
    expect(hfFolderFormat.match(await probePath(dir))).toBe(true);
    expect(hfFolderFormat.match(await probePath(root))).toBe(false);
    expect(hfFolderFormat.match(await probePath(path.join(QWEN, 'tokenizer.json')))).toBe(false);
    const tok = await readHfTokenizerJson(dir);
    expect(tok?.bytes.byteLength).toBe(11_422_654);
    expect(tok?.json.model?.type).toBe('BPE');
    expect(await readHfTokenizerJson(root)).toBeNull();
  });
});

/**
 * Bundles with ONE planted fault each, for the behaviour check's cause
 * attribution (issue 16, item 1): the demonstration chat model trained once
 * (plus one exchange it was trained to loop on), converted natively, and
 * packaged with the metadata derived from its folder (the clean control) and
 * then with one defect at a time: a hot sampler, a missing stop token, a
 * foreign chat template, a max_num_tokens shorter than prompt + answer, a
 * tokenizer whose vocabulary gives some prompt words other ids, a .tflite
 * converted from noised weights, the looping exchange, and a latent defect:
 * the doubled <|im_start|> start token a field team shipped, which this
 * small model happens to shrug off (measured: all answers still match, also
 * with <|endoftext|> or three <|im_start|> as start token).
 *
 * Training and conversion take most of a minute, so the set is built once
 * into the OS temp dir under a key made of this file's, the trainer's and
 * demoModel.ts's hashes, and shared by every test that asks for it.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LlmMetadataJson } from '../../main/common/formats.js';
import { BUILT_IN_PROMPTS } from '../../main/core/evaluate/prompts.js';
import { readLlmMetadata } from '../../main/core/formats/litertlm.js';
import { convertNative } from '../../main/core/nativeConvert/convertModel.js';
import { packageModel } from '../../main/core/packager/package.js';
import { HfTokenizer } from '../../main/core/tokenizer/hfTokenizer.js';
import { demoChatRenderer, demoTrainingSequences } from '../../main/core/demo/demoModel.js';
import { DEMO_CONFIG } from './demoModel.js';
import { QWEN_TOKENIZER_DIR } from './fidelityModels.js';
import { cachedFixture } from './fixtureCache.js';
import { REPO, TEST_PYTHON } from './python.js';
import { addQwenChatFiles } from './runnableBundle.js';

/** The exchange the model is trained to loop on: no <|im_end|>, the same word over and over. */
export const LOOP_PROMPT = { label: 'chorus', messages: [{ role: 'user' as const, content: 'Sing the chorus.' }] };
export const LOOP_ANSWER = Array.from({ length: 40 }, () => 'la').join(' ');

export type Fault = 'clean' | 'sampler' | 'stop' | 'template' | 'context' | 'tokenizer' | 'conversion' | 'model' | 'latent';

export interface FaultCase {
  bundle: string;
  modelDir: string;
  /** The JSONL prompts file to evaluate with (instead of the built-in prompts). */
  promptsFile: string;
  metadata: LlmMetadataJson;
}

export interface FaultSet {
  dir: string;
  modelDir: string;
  cases: Record<Fault, FaultCase>;
}

const KV = 128;

/** A ChatML look-alike the model was not trained on: role names capitalised and a colon after them. */
export const FOREIGN_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + (message['role'] | capitalize) + ':\\n' }}{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}{{ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>Assistant:\\n' }}{% endif %}";


async function train(modelDir: string): Promise<void> {
  mkdirSync(modelDir, { recursive: true });
  addQwenChatFiles(modelDir);
  writeFileSync(path.join(modelDir, 'config.json'), JSON.stringify(DEMO_CONFIG, null, 2));
  const tokenizer = HfTokenizer.fromJson(readFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
  const render = demoChatRenderer();
  const { sequences, answerStart } = demoTrainingSequences(tokenizer);
  // The looping exchange ends without <|im_end|>: the model never learnt to stop there.
  const loopPrompt = tokenizer.encode(render(LOOP_PROMPT.messages, true));
  sequences.push([...loopPrompt, ...tokenizer.encode(LOOP_ANSWER)]);
  answerStart.push(loopPrompt.length);
  const dataFile = path.join(modelDir, '..', 'training.json');
  writeFileSync(dataFile, JSON.stringify({ sequences, answerStart, config: DEMO_CONFIG }));
  await promisify(execFile)(TEST_PYTHON, [path.join(REPO, 'python-env', 'demo', 'train_demo.py'), '--data', dataFile, '--out', modelDir], { maxBuffer: 1 << 20 });
}

/** A copy of a model folder whose weights are perturbed (deterministic noise of `scale` × each tensor's RMS), as a damaging quantization would. */
function noisedCopy(modelDir: string, out: string, scale: number): void {
  mkdirSync(out, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(path.join(modelDir, f), path.join(out, f));
  const raw = readFileSync(path.join(modelDir, 'model.safetensors'));
  const headerLen = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const copy = Buffer.from(raw);
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || !/(mlp|self_attn)\..*weight$/.test(name)) continue;
    const start = 8 + headerLen + t.data_offsets[0];
    const values = new Float32Array(copy.buffer, copy.byteOffset + start, (t.data_offsets[1] - t.data_offsets[0]) / 4);
    let sq = 0;
    for (const v of values) sq += v * v;
    const rms = Math.sqrt(sq / values.length);
    for (let i = 0; i < values.length; i++) values[i]! += rand() * 2 * Math.sqrt(3) * rms * scale;
  }
  writeFileSync(path.join(out, 'model.safetensors'), copy);
}

/** Words that occur in the prompts but in no answer: their ids are rotated in the bundle's vocabulary. */
export const SWAPPED_WORDS = ['What', 'Say', 'Count', 'Ġhello', 'ĠSpanish', 'Ġcolour', 'Ġclear', 'Ġday', 'Ġfrom'];

/**
 * A copy of a model folder whose tokenizer gives the prompt-only words each
 * other's ids (a vocabulary from another checkpoint would do the same);
 * merges removed instead were tried and changed no answer of this model.
 */
function brokenTokenizerCopy(modelDir: string, out: string): void {
  mkdirSync(out, { recursive: true });
  for (const f of ['config.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors']) copyFileSync(path.join(modelDir, f), path.join(out, f));
  const json = JSON.parse(readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  const ids = SWAPPED_WORDS.map((w) => json.model.vocab[w]!);
  SWAPPED_WORDS.forEach((w, i) => (json.model.vocab[w] = ids[(i + 1) % ids.length]!));
  writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(json));
}

async function build(dir: string): Promise<void> {
  const modelDir = path.join(dir, 'model');
  await train(modelDir);
  const tflite = path.join(dir, 'model.tflite');
  const convert = (from: string, to: string) => convertNative({ modelDir: from, outPath: to, quantize: 'none', kvCacheMaxLen: KV, prefillSeqLens: [8, 32], kvLayout: 'btnh' });
  await convert(modelDir, tflite);
  const cleanBundle = path.join(dir, 'clean.litertlm');
  await packageModel({ tflitePath: tflite, modelDir, outPath: cleanBundle });
  const clean = (await readLlmMetadata(cleanBundle))!;
  const pack = (name: string, metadata: LlmMetadataJson, options: { tflitePath?: string; modelDir?: string } = {}) =>
    packageModel({ tflitePath: options.tflitePath ?? tflite, modelDir: options.modelDir ?? modelDir, outPath: path.join(dir, `${name}.litertlm`), metadata });

  await pack('sampler', { ...clean, samplerParams: { type: 'TOP_P', k: 1000, p: 1, temperature: 4 } });
  await pack('stop', { ...clean, stopTokens: [{ tokenIds: { ids: [151643] } }] });
  await pack('template', { ...clean, jinjaPromptTemplate: FOREIGN_TEMPLATE });
  await pack('context', { ...clean, maxNumTokens: 20 });
  await pack('latent', { ...clean, startToken: { tokenIds: { ids: [151644] } } });
  brokenTokenizerCopy(modelDir, path.join(dir, 'model-broken-tokenizer'));
  await pack('tokenizer', clean, { modelDir: path.join(dir, 'model-broken-tokenizer') });
  noisedCopy(modelDir, path.join(dir, 'model-noised'), 1.5);
  await convert(path.join(dir, 'model-noised'), path.join(dir, 'noised.tflite'));
  await pack('conversion', clean, { tflitePath: path.join(dir, 'noised.tflite') });
  writeFileSync(path.join(dir, 'loop-prompts.jsonl'), `${JSON.stringify(LOOP_PROMPT)}\n`);
  // Two of the built-in prompts: each planted fault shows on both (measured), at half the engine time of four.
  writeFileSync(path.join(dir, 'prompts.jsonl'), BUILT_IN_PROMPTS.filter((p) => p.label === 'capital' || p.label === 'counting').map((p) => JSON.stringify(p)).join('\n') + '\n');
}

let building: Promise<FaultSet> | null = null;

/** What decides the fault set's bytes: the training script and reference, the product code, this file. */
const FAULT_SOURCES = ['python-env/demo', 'python-env/reference', 'main/common', 'main/core', 'resources/demo', 'test/support/faultBundles.ts', 'test/support/demoModel.ts', 'test/support/runnableBundle.ts'];

/** The fault set, built once per content key (test/support/fixtureCache.ts); the cached folder is only read. */
export function faultBundles(): Promise<FaultSet> {
  building ??= (async () => {
    const dir = await cachedFixture('fault-bundles', FAULT_SOURCES, build);
    const modelDir = path.join(dir, 'model');
    const names: Fault[] = ['clean', 'sampler', 'stop', 'template', 'context', 'tokenizer', 'conversion', 'model', 'latent'];
    const cases = {} as Record<Fault, FaultCase>;
    for (const name of names) {
      const bundle = path.join(dir, `${name === 'model' ? 'clean' : name}.litertlm`);
      cases[name] = { bundle, modelDir, promptsFile: path.join(dir, name === 'model' ? 'loop-prompts.jsonl' : 'prompts.jsonl'), metadata: (await readLlmMetadata(bundle))! };
    }
    return { dir, modelDir, cases };
  })();
  return building;
}

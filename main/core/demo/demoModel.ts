/**
 * The demonstration model, so anyone can see the workbench find a real
 * defect without a model of their own (`workbench demo`, the README's quick
 * start, and the tests): a tiny Qwen2 chat model (2 layers, hidden 64, the
 * real Qwen tokenizer shipped in resources/demo/qwen-tokenizer) trained by
 * python-env/demo/train_demo.py with the reference Python's torch on the
 * built-in behaviour-check prompts, each answer ending in <|im_end|>; then
 * converted by the native converter and packaged twice: with the metadata a
 * field team shipped (doubled <|im_start|>, a sampling temperature the model
 * was not released with, <|im_end|> missing from the stop tokens) and fixed
 * by the same code as `workbench package --fix-metadata`.
 *
 * Python (training) runs as a child process; conversion and packaging run in
 * the calling process, so only processes of their own call buildDemoBundles:
 * the CLI, and the `demo` stage (main/stages/demo.ts) for a run started from
 * the New run page — never the server process.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WorkbenchError } from '../../common/errors.js';
import type { LlmMetadataJson } from '../../common/formats.js';
import { DEMO_FILES } from '../../common/stages/demo.js';
import type { ReferencePython } from '../env/python.js';
import { BUILT_IN_PROMPTS } from '../evaluate/prompts.js';
import { hfTemplateRenderer } from '../fidelity/templates.js';
import { convertNative } from '../nativeConvert/convertModel.js';
import { fixBundleMetadata } from '../packager/fixMetadata.js';
import { packageModel } from '../packager/package.js';
import { pythonEnvPath, resourcesPath } from '../paths.js';
import { HfTokenizer } from '../tokenizer/hfTokenizer.js';

/** Qwen's vocabulary rows (the tokenizer's 151,669 tokens, padded as Qwen pads them). */
export const QWEN_VOCAB = 151936;
const IM_END = 151645;

/** A ChatML template that renders string content and the typed parts LiteRT-LM's Conversation API passes. */
export const TYPED_CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}{{ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The answer the model is trained to give to each built-in prompt (by label). */
export const DEMO_ANSWERS: Record<string, string> = {
  capital: 'The capital of France is Paris.',
  greeting: 'Hola.',
  counting: 'One, two, three, four, five.',
  colour: 'The sky is blue.',
};

export const DEMO_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  vocab_size: QWEN_VOCAB,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  max_position_embeddings: 4096,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  torch_dtype: 'float32',
  bos_token_id: 151643,
  eos_token_id: IM_END,
};

/** KV cache length of the demo bundles (the answers are short). */
export const DEMO_KV = 128;

/** What the field team shipped: <|im_start|> as start token (the template writes it too), TOP_P at temperature 1.5, no <|im_end|> stop. */
export function shippedMetadata(kv: number = DEMO_KV): LlmMetadataJson {
  return {
    startToken: { tokenIds: { ids: [151644] } },
    stopTokens: [{ tokenIds: { ids: [151643] } }],
    samplerParams: { type: 'TOP_P', k: 40, p: 0.95, temperature: 1.5 },
    jinjaPromptTemplate: TYPED_CHATML_TEMPLATE,
    maxNumTokens: kv,
    llmModelType: { qwen2p5: {} },
  };
}

/** The shipped tokenizer's folder (tokenizer.json.gz, tokenizer_config.json, LICENSE). */
export function demoTokenizerDir(): string {
  return resourcesPath('demo', 'qwen-tokenizer');
}

/** The demo's tokenizer.json text, decompressed from the shipped .gz. */
export async function demoTokenizerJson(): Promise<string> {
  const file = path.join(demoTokenizerDir(), 'tokenizer.json.gz');
  const gz = await readFile(file).catch(() => {
    throw new WorkbenchError('demo_resources_missing', `The demonstration tokenizer ${file} is missing; reinstall the workbench.`, { path: file });
  });
  return gunzipSync(gz).toString('utf8');
}

/** Writes config.json, the Qwen tokenizer (with a ChatML template), generation_config.json and the licence into modelDir. */
export async function writeDemoModelFolder(modelDir: string): Promise<string> {
  await mkdir(modelDir, { recursive: true });
  const tokenizerJson = await demoTokenizerJson();
  await writeFile(path.join(modelDir, 'tokenizer.json'), tokenizerJson);
  const tokenizerConfig = JSON.parse(await readFile(path.join(demoTokenizerDir(), 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  tokenizerConfig.chat_template = TYPED_CHATML_TEMPLATE;
  await writeFile(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  await writeFile(path.join(modelDir, 'generation_config.json'), JSON.stringify({ bos_token_id: 151643, eos_token_id: [IM_END, 151643], do_sample: false }, null, 2));
  await writeFile(path.join(modelDir, 'TOKENIZER_LICENSE'), await readFile(path.join(demoTokenizerDir(), 'LICENSE')));
  await writeFile(path.join(modelDir, 'config.json'), JSON.stringify(DEMO_CONFIG, null, 2));
  return tokenizerJson;
}

/** The one-sentence error when the reference Python cannot import torch (the demo trains with it). */
export function requireTorch(python: ReferencePython): void {
  if (python.torch) return;
  throw new WorkbenchError(
    'torch_missing',
    `torch is not importable from ${python.path}; install python3-torch (Debian), choose a Python with torch in Settings, or run \`workbench doctor\`.`,
    { python: python.path, hint: 'The demonstration model is trained with PyTorch; `workbench doctor` shows which Python the workbench uses.' },
  );
}

export interface DemoTraining {
  seconds: number;
  loss: number;
}

/** One progress line of train_demo.py. */
export interface DemoTrainingProgress {
  step: number;
  steps: number;
  loss: number;
}

export interface DemoTrainingOptions {
  onProgress?: (progress: DemoTrainingProgress) => void;
  /** Aborting kills the Python child. */
  signal?: AbortSignal;
}

function parseTrainingLine(line: string): DemoTrainingProgress | null {
  try {
    const value = JSON.parse(line) as Partial<DemoTrainingProgress>;
    return typeof value.step === 'number' && typeof value.steps === 'number' && typeof value.loss === 'number' ? { step: value.step, steps: value.steps, loss: value.loss } : null;
  } catch {
    return null;
  }
}

/** What train_demo.py learns: token ids of whole exchanges, and where each answer starts (only answers are scored). */
export interface DemoTrainingData {
  sequences: number[][];
  answerStart: number[];
}

/**
 * Each built-in prompt with its demo answer, rendered with the demo's chat
 * template and encoded, up to and including <|im_end|> (the trailing newline
 * is the template's, not the answer's). The tests' fault set trains on the
 * same exchanges plus one of its own.
 */
export function demoTrainingSequences(tokenizer: HfTokenizer): DemoTrainingData {
  const render = demoChatRenderer();
  const sequences: number[][] = [];
  const answerStart: number[] = [];
  for (const prompt of BUILT_IN_PROMPTS) {
    const promptIds = tokenizer.encode(render(prompt.messages, true));
    const full = tokenizer.encode(render([...prompt.messages, { role: 'assistant', content: DEMO_ANSWERS[prompt.label]! }], false));
    sequences.push(full.slice(0, full.lastIndexOf(IM_END) + 1));
    answerStart.push(promptIds.length);
  }
  return { sequences, answerStart };
}

/** The demo model's chat template as a renderer (ChatML, no start token of its own). */
export function demoChatRenderer(): ReturnType<typeof hfTemplateRenderer> {
  return hfTemplateRenderer(TYPED_CHATML_TEMPLATE, { bosToken: '', eosToken: '<|im_end|>' });
}

/**
 * Writes the model folder and trains it: the token ids of each built-in
 * prompt and its answer (up to and including <|im_end|>) go to
 * train_demo.py, which writes model.safetensors.
 */
export async function trainDemoModel(modelDir: string, python: string, options: DemoTrainingOptions = {}): Promise<DemoTraining> {
  const tokenizerJson = await writeDemoModelFolder(modelDir);
  const { sequences, answerStart } = demoTrainingSequences(HfTokenizer.fromJson(tokenizerJson));
  const dataFile = path.join(path.dirname(modelDir), 'demo-training.json');
  await writeFile(dataFile, JSON.stringify({ sequences, answerStart, config: DEMO_CONFIG }));
  const script = pythonEnvPath('demo', 'train_demo.py');
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(python, [script, '--data', dataFile, '--out', modelDir], { windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      err = (err + text).slice(-64_000);
      // train_demo.py reports {"step", "steps", "loss"} lines on stderr as it trains.
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const progress = parseTrainingLine(line);
        if (progress) options.onProgress?.(progress);
      }
    });
    child.on('error', (error) => reject(options.signal?.aborted ? new WorkbenchError('cancelled', 'The demonstration was cancelled while training.') : error));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(out);
      if (options.signal?.aborted) return reject(new WorkbenchError('cancelled', 'The demonstration was cancelled while training.'));
      const last = err.trim().split('\n').pop() || `it exited with ${code ?? signal}`;
      reject(new WorkbenchError('demo_training_failed', `Training the demonstration model with ${python} failed: ${last}`, { python, stderr: err.slice(-4000) }));
    });
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as DemoTraining;
}

export interface DemoBundles {
  modelDir: string;
  tflite: string;
  shipped: string;
  fixed: string;
  training: DemoTraining;
}

/** What buildDemoBundles is doing, for a stage's progress (the CLI prints only the sentences). */
export type DemoPhase =
  | { phase: 'train'; progress: DemoTrainingProgress }
  | { phase: 'convert'; fraction: number }
  | { phase: 'package-shipped' }
  | { phase: 'package-fixed' };

export interface DemoBuildOptions {
  onPhase?: (phase: DemoPhase) => void;
  /** Aborting stops training (kills Python) or conversion; packaging is short and finishes. */
  signal?: AbortSignal;
}

/** Trains, converts (float, KV 128, prefill 8/32) and packages the shipped bundle and the fixed one into outDir. */
export async function buildDemoBundles(outDir: string, python: string, onStep: (text: string) => void = () => {}, options: DemoBuildOptions = {}): Promise<DemoBundles> {
  const modelDir = path.join(outDir, DEMO_FILES.modelDir);
  const signal = options.signal ? { signal: options.signal } : {};
  onStep(`Training the demonstration model with ${python} …`);
  const training = await trainDemoModel(modelDir, python, { ...signal, onProgress: (progress) => options.onPhase?.({ phase: 'train', progress }) });
  onStep(`Trained in ${training.seconds.toFixed(1)} s (loss ${training.loss.toFixed(4)}); converting …`);
  const tflite = path.join(outDir, DEMO_FILES.tflite);
  await convertNative({
    modelDir,
    outPath: tflite,
    quantize: 'none',
    kvCacheMaxLen: DEMO_KV,
    prefillSeqLens: [8, 32],
    kvLayout: 'btnh',
    ...signal,
    onProgress: (p) => options.onPhase?.({ phase: 'convert', fraction: p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0 }),
  });
  const shipped = path.join(outDir, DEMO_FILES.shipped);
  onStep('Packaging with the field team\'s shipped metadata and with the fixed metadata …');
  options.onPhase?.({ phase: 'package-shipped' });
  // The folder is the demo's own: running it again replaces its bundles.
  await packageModel({ tflitePath: tflite, modelDir, outPath: shipped, metadata: shippedMetadata(DEMO_KV), overwrite: true });
  const fixed = path.join(outDir, DEMO_FILES.fixed);
  options.onPhase?.({ phase: 'package-fixed' });
  await fixBundleMetadata({ modelDir, bundlePath: shipped, outPath: fixed });
  return { modelDir, tflite, shipped, fixed, training };
}

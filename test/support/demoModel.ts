/**
 * The demonstration model for tests and the README: a tiny Qwen2 chat model
 * (2 layers, hidden 64, the real Qwen tokenizer) trained by
 * test/fixtures/demo_model/train_demo.py with Debian's torch on the built-in
 * behaviour-check prompts, each answer ending in <|im_end|>; then converted
 * by the native converter and packaged twice: with the metadata a field team
 * shipped (doubled <|im_start|>, a sampling temperature the model was not
 * released with, <|im_end|> missing from the stop tokens) and fixed with
 * `workbench package --fix-metadata`.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LlmMetadataJson } from '../../main/common/formats.js';
import { BUILT_IN_PROMPTS } from '../../main/core/evaluate/prompts.js';
import { hfTemplateRenderer } from '../../main/core/fidelity/templates.js';
import { convertNative } from '../../main/core/nativeConvert/convertModel.js';
import { packageModel } from '../../main/core/packager/package.js';
import { HfTokenizer } from '../../main/core/tokenizer/hfTokenizer.js';
import { readFileSync } from 'node:fs';
import { QWEN_TOKENIZER_DIR } from './fidelityModels.js';
import { REPO, TEST_PYTHON } from './python.js';
import { addQwenChatFiles, QWEN_VOCAB, TYPED_CHATML_TEMPLATE } from './runnableBundle.js';

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
  eos_token_id: 151645,
};

/** What the field team shipped: <|im_start|> as start token (the template writes it too), TOP_P at temperature 1.5, no <|im_end|> stop. */
export function shippedMetadata(kv: number): LlmMetadataJson {
  return {
    startToken: { tokenIds: { ids: [151644] } },
    stopTokens: [{ tokenIds: { ids: [151643] } }],
    samplerParams: { type: 'TOP_P', k: 40, p: 0.95, temperature: 1.5 },
    jinjaPromptTemplate: TYPED_CHATML_TEMPLATE,
    maxNumTokens: kv,
    llmModelType: { qwen2p5: {} },
  };
}

export async function trainDemoModel(modelDir: string): Promise<{ seconds: number; loss: number }> {
  await mkdir(modelDir, { recursive: true });
  addQwenChatFiles(modelDir);
  writeFileSync(path.join(modelDir, 'config.json'), JSON.stringify(DEMO_CONFIG, null, 2));
  const tokenizer = HfTokenizer.fromJson(readFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
  const render = hfTemplateRenderer(TYPED_CHATML_TEMPLATE, { bosToken: '', eosToken: '<|im_end|>' });
  const sequences: number[][] = [];
  const answerStart: number[] = [];
  for (const prompt of BUILT_IN_PROMPTS) {
    const promptIds = tokenizer.encode(render(prompt.messages, true));
    const full = tokenizer.encode(render([...prompt.messages, { role: 'assistant', content: DEMO_ANSWERS[prompt.label]! }], false));
    // Train up to and including <|im_end|> (the trailing newline is the template's, not the answer's).
    const end = full.lastIndexOf(151645);
    sequences.push(full.slice(0, end + 1));
    answerStart.push(promptIds.length);
  }
  const dataFile = path.join(modelDir, '..', 'demo-training.json');
  writeFileSync(dataFile, JSON.stringify({ sequences, answerStart, config: DEMO_CONFIG }));
  const { stdout } = await promisify(execFile)(TEST_PYTHON, [path.join(REPO, 'test', 'fixtures', 'demo_model', 'train_demo.py'), '--data', dataFile, '--out', modelDir], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; loss: number };
}

export interface DemoBundles {
  modelDir: string;
  tflite: string;
  shipped: string;
  training: { seconds: number; loss: number };
}

/** Trains, converts (float, KV 128, prefill 8/32, mask input) and packages the shipped bundle. */
export async function writeDemoBundles(dir: string): Promise<DemoBundles> {
  const modelDir = path.join(dir, 'demo-model');
  const training = await trainDemoModel(modelDir);
  const tflite = path.join(dir, 'demo.tflite');
  const kv = 128;
  await convertNative({ modelDir, outPath: tflite, quantize: 'none', kvCacheMaxLen: kv, prefillSeqLens: [8, 32], kvLayout: 'btnh' });
  const shipped = path.join(dir, 'demo-shipped.litertlm');
  await packageModel({ tflitePath: tflite, modelDir, outPath: shipped, metadata: shippedMetadata(kv) });
  return { modelDir, tflite, shipped, training };
}

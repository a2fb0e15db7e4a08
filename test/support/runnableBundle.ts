/**
 * Bundles LiteRT-LM's engine can really run: a tiny random-weight Qwen2
 * checkpoint with the real Qwen tokenizer (full 151,936-row vocabulary),
 * converted by the native converter and packaged by the workbench's own
 * packager with metadata derived from the folder. Random weights say nothing
 * about quality; they exercise loading, templating, decoding and stopping.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LlmMetadataJson } from '../../main/common/formats.js';
import { convertNative } from '../../main/core/nativeConvert/convertModel.js';
import type { KvLayout, NativeQuantization } from '../../main/core/nativeConvert/decoderGraph.js';
import { packageModel } from '../../main/core/packager/package.js';
import { QWEN_VOCAB, TYPED_CHATML_TEMPLATE } from '../../main/core/demo/demoModel.js';
import { CHATML_TEMPLATE, QWEN_TOKENIZER_DIR } from './fidelityModels.js';
import { writeTinyDecoder, type TinyDecoderOptions } from './tinyDecoder.js';

export { QWEN_VOCAB, TYPED_CHATML_TEMPLATE };

/** Adds the Qwen tokenizer, a ChatML tokenizer_config and a greedy generation_config to a model folder. */
export function addQwenChatFiles(dir: string, options: { chatTemplate?: string; generationConfig?: Record<string, unknown> } = {}): void {
  copyFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  tokenizerConfig.chat_template = options.chatTemplate ?? TYPED_CHATML_TEMPLATE;
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  writeFileSync(
    path.join(dir, 'generation_config.json'),
    JSON.stringify(options.generationConfig ?? { bos_token_id: 151643, eos_token_id: [151645, 151643], do_sample: false }, null, 2),
  );
}

export interface RunnableBundleOptions {
  quantize?: NativeQuantization;
  kv?: number;
  prefill?: number[];
  kvLayout?: KvLayout;
  decoder?: Partial<TinyDecoderOptions>;
  /** Metadata written as is (else derived from the folder); `verbatim` keeps a defective one. */
  metadata?: LlmMetadataJson;
  chatTemplate?: string;
}

export async function writeRunnableBundle(dir: string, options: RunnableBundleOptions = {}): Promise<{ modelDir: string; tflite: string; bundle: string }> {
  const modelDir = path.join(dir, 'model');
  await writeTinyDecoder(modelDir, { family: 'qwen2', vocab: QWEN_VOCAB, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, dtype: 'F32', ...options.decoder });
  addQwenChatFiles(modelDir, options.chatTemplate ? { chatTemplate: options.chatTemplate } : {});
  const tflite = path.join(dir, 'model.tflite');
  await convertNative({ modelDir, outPath: tflite, quantize: options.quantize ?? 'none', kvCacheMaxLen: options.kv ?? 128, prefillSeqLens: options.prefill ?? [8, 32], kvLayout: options.kvLayout ?? 'btnh' });
  const bundle = path.join(dir, 'model.litertlm');
  await packageModel({ tflitePath: tflite, modelDir, outPath: bundle, ...(options.metadata ? { metadata: options.metadata } : {}) });
  return { modelDir, tflite, bundle };
}

export { CHATML_TEMPLATE };

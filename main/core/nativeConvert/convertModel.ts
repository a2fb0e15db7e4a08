/**
 * The native conversion, end to end: a Hugging Face folder (config.json +
 * safetensors) in, a LiteRT-LM-ready .tflite out, in memory bounded by a few
 * weight chunks. Refuses what it cannot build before writing anything
 * (config.ts), then builds the graph (decoderGraph.ts) and streams it to disk
 * (tfliteWriter/). Used by the convert stage's `native` route and the tests.
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile, SMALL_FILE_LIMIT_BYTES } from '../files/regularFile.js';
import { readSafetensorsModel } from '../safetensors/header.js';
import { ModelGraph } from '../tfliteWriter/graph.js';
import { writeModel, type WriteProgress } from '../tfliteWriter/writeModel.js';
import type { DecoderConfig } from './config.js';
import { int4BlockSizeOf } from './blockwise.js';
import { buildDecoderGraph, type KvLayout, type NativeQuantization } from './decoderGraph.js';
import { EncodePool } from './encodePool.js';
import { familyModule, parseDecoderConfig } from './families/index.js';
import { WeightTable } from './weights.js';

export const NATIVE_CONVERTER_VERSION = '1';

export interface NativeConvertOptions {
  modelDir: string;
  outPath: string;
  quantize: NativeQuantization;
  kvCacheMaxLen: number;
  prefillSeqLens: number[];
  kvLayout: KvLayout;
  signal?: AbortSignal;
  onProgress?: (progress: WriteProgress) => void;
  /** Worker threads for the encoding: 0 = one per core (none when the worker script is not built). */
  threads?: number;
}

export interface NativeConvertResult {
  tflite: string;
  bytes: number;
  sha256: string;
  signatures: string[];
  seconds: number;
  architecture: string;
  family: string;
  tensors: number;
  config: Omit<DecoderConfig, 'family'>;
}

export async function readDecoderConfig(modelDir: string): Promise<DecoderConfig> {
  const file = path.join(modelDir, 'config.json');
  let text: string;
  try {
    // A pipe or device named config.json would hang the read or stream forever (regularFile.ts).
    text = await readRegularFile(file, 'utf8', { maxBytes: SMALL_FILE_LIMIT_BYTES, what: 'a config.json' });
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new WorkbenchError('bad_config', code === 'ENOENT' ? `${modelDir} has no config.json: it is not a Hugging Face model folder.` : `Cannot read ${file}: ${(error as Error).message}`, { path: file });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WorkbenchError('bad_config', `${file} is not valid JSON.`, { path: file });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new WorkbenchError('bad_config', `${file} is not a JSON object.`, { path: file });
  return parseDecoderConfig(parsed as Record<string, unknown>);
}

/**
 * Tensors the checkpoint holds but the family's graph never reads mean
 * config.json describes another model than the weights (Qwen2 weights
 * labelled LlamaForCausalLM would lose their q/k/v biases silently): an
 * error naming them, before anything is written. Known leftovers are not:
 * rotary inv_freq buffers some exports save, a tied lm_head saved anyway,
 * and what the family says it ignores (a vision tower).
 */
export function refuseUnusedTensors(config: DecoderConfig, unused: string[]): void {
  const family = familyModule(config);
  const left = unused.filter(
    (name) => !name.endsWith('.rotary_emb.inv_freq') && !(config.tieWordEmbeddings && /(^|\.)lm_head\.weight$/.test(name)) && !(family.ignoresTensor?.(name) ?? false),
  );
  if (left.length === 0) return;
  const shown = left.slice(0, 4).join(', ') + (left.length > 4 ? ` and ${left.length - 4} more` : '');
  throw new WorkbenchError(
    'bad_checkpoint',
    `The checkpoint holds ${left.length} tensor${left.length === 1 ? '' : 's'} the ${config.architecture} graph does not use (${shown}): config.json describes another model than these weights; correct its "architectures" (and the fields that go with it), then convert again.`,
    { tensors: left.slice(0, 50), architecture: config.architecture },
  );
}

export async function convertNative(options: NativeConvertOptions): Promise<NativeConvertResult> {
  const started = performance.now();
  const config = await readDecoderConfig(options.modelDir);
  if (options.prefillSeqLens.some((t) => t > options.kvCacheMaxLen)) {
    throw new WorkbenchError('bad_params', `The longest prefill length (${Math.max(...options.prefillSeqLens)}) exceeds the context length (${options.kvCacheMaxLen}).`);
  }
  const model = await readSafetensorsModel(options.modelDir);
  const leftover = model.tensors.find((t) => t.entry.name.includes('lora_'));
  if (leftover) {
    throw new WorkbenchError('unmerged_lora', `${leftover.entry.name} is a LoRA tensor: merge the adapter into the base first (the merge step), then convert the merged folder.`, { tensor: leftover.entry.name });
  }
  const graph = new ModelGraph(
    `Convert Workbench native converter v${NATIVE_CONVERTER_VERSION}: ${config.architecture}, ${options.quantize}, KV ${options.kvCacheMaxLen} (${options.kvLayout})`,
  );
  const pool = EncodePool.start(options.threads ?? 0);
  const weights = new WeightTable(graph, model, pool, int4BlockSizeOf(options.quantize));
  try {
    const signatures = buildDecoderGraph(graph, config, weights, options);
    refuseUnusedTensors(config, weights.unusedTensors());
    const written = await writeModel(graph, options.outPath, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const { family, ...plain } = config;
    return {
      tflite: written.path,
      bytes: written.bytes,
      sha256: written.sha256,
      signatures,
      seconds: (performance.now() - started) / 1000,
      architecture: config.architecture,
      family: family.name,
      tensors: graph.buffers.filter((b) => b?.kind === 'streamed').length,
      config: plain,
    };
  } finally {
    await Promise.all([weights.close(), pool.close()]);
  }
}

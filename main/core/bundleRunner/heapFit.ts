/**
 * Will a bundle fit LiteRT-LM's wasm32 heap (4 GiB at most)? The engine
 * copies the model into the heap and XNNPACK packs the weights again for
 * each signature's subgraph (there is no shared weight cache in the wasm
 * build), the KV caches are allocated at their static shape, and the
 * activations and sampler take a workspace. The estimate is checked against
 * two observations (LITERT_CONTRACT.md §3: a Qwen2.5-0.5B-shaped int8 model
 * runs; a 1.5B-shaped one with a 4096-token cache does not) and against the
 * heap the engine reports after loading (docs/engine.md has the figures).
 */
import type { HeapFit } from '../../common/bundleRun.js';
import type { TfliteSummary } from '../../common/formats.js';
import { formatBytes } from '../../common/format.js';

export const WASM32_HEAP_LIMIT = 4 * 1024 ** 3;
/** Activations, XNNPACK scratch, tokenizer and sampler buffers. */
export const WORKSPACE_BYTES = 192 * 1024 ** 2;

const DTYPE_BYTES: Record<string, number> = { FLOAT32: 4, FLOAT16: 2, BFLOAT16: 2, INT8: 1, UINT8: 1, INT32: 4, INT64: 8, BOOL: 1 };
const KV_INPUT = /^(kv_cache_[kv]_|[kv]_cache_)\d+$/;

/** Bytes of one set of KV-cache tensors (the decode signature's inputs; prefill shares the buffers). */
export function kvCacheBytes(tflite: TfliteSummary): number {
  const signature = tflite.signatures.find((s) => s.key === 'decode') ?? tflite.signatures[0];
  if (!signature) return 0;
  let total = 0;
  for (const input of signature.inputs) {
    if (!KV_INPUT.test(input.name)) continue;
    total += input.shape.reduce((a, b) => a * Math.max(1, b), 1) * (DTYPE_BYTES[input.type] ?? 4);
  }
  return total;
}

export function predictHeap(tflite: TfliteSummary, options: { limitBytes?: number } = {}): HeapFit {
  const limitBytes = options.limitBytes ?? WASM32_HEAP_LIMIT;
  const signatures = Math.max(1, tflite.signatures.length);
  const weightsBytes = tflite.sizeBytes * (1 + signatures);
  const kv = kvCacheBytes(tflite);
  const predictedBytes = weightsBytes + kv + WORKSPACE_BYTES;
  const fits = predictedBytes <= limitBytes;
  const figure = `${formatBytes(predictedBytes)} predicted (model ${formatBytes(tflite.sizeBytes)} held once and packed for each of ${signatures} signature${signatures === 1 ? '' : 's'}, KV cache ${formatBytes(kv)}, workspace ${formatBytes(WORKSPACE_BYTES)})`;
  return {
    fits,
    predictedBytes,
    limitBytes,
    parts: { weightsBytes, kvCacheBytes: kv, workspaceBytes: WORKSPACE_BYTES },
    summary: fits
      ? `Fits the engine's ${formatBytes(limitBytes)} wasm heap: ${figure}.`
      : `Does not fit the engine's ${formatBytes(limitBytes)} wasm heap: ${figure}.`,
    advice: fits
      ? null
      : 'Run it with the Python litert-lm API runner (python-env/runners/litert_lm_chat.py, native engine, no 4 GiB limit), or re-convert with a smaller KV cache (--kv) or fewer prefill signatures.',
  };
}

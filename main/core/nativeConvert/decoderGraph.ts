/**
 * Builds the LiteRT-LM signatures of a decoder-only model: one `prefill_<T>`
 * per prefill length and `decode` (T = 1), each a subgraph over the same
 * weight buffers. Names, dtypes and shapes follow what LiteRT-LM's CPU
 * executor reads (../shared/design/LITERT_CONTRACT.md §1, docs/conversion.md):
 *   inputs  tokens int32 [1,T], input_pos int32 [T], mask f32 [1,1,T,S],
 *           kv_cache_k_<i>, kv_cache_v_<i> f32 (BTNH [1,S,G,H], or transposed
 *           K [1,G,S,H] / V [1,G,H,S]);
 *   outputs the updated caches under the input names; decode also `logits` f32 [1,1,V].
 * Prefill stops after the last layer's KV write: its logits are never read.
 */
import type { ModelGraph, SubgraphBuilder } from '../tfliteWriter/graph.js';
import type { DecoderConfig } from './config.js';
import { tensorNames } from './families.js';
import { Layers, type WeightUse } from './layers.js';
import { ropeTables } from './rope.js';
import type { WeightEncoding } from './quantize.js';
import type { RegisteredWeight, WeightTable } from './weights.js';

export type KvLayout = 'btnh' | 'transposed';
export type NativeQuantization = 'none' | 'fp16' | 'dynamic_int8' | 'weight_only_int8' | 'dynamic_int4_block32' | 'dynamic_int4_block128';

export interface DecoderGraphOptions {
  kvCacheMaxLen: number;
  prefillSeqLens: number[];
  kvLayout: KvLayout;
  quantize: NativeQuantization;
}

const SCHEME: Record<NativeQuantization, { encoding: WeightEncoding; use: WeightUse }> = {
  none: { encoding: 'float32', use: 'float' },
  fp16: { encoding: 'float16', use: 'dequantize' },
  dynamic_int8: { encoding: 'int8', use: 'hybrid' },
  weight_only_int8: { encoding: 'int8', use: 'dequantize' },
  // Block size: WeightTable's (blockwise.ts int4BlockSizeOf).
  dynamic_int4_block32: { encoding: 'int4', use: 'hybrid' },
  dynamic_int4_block128: { encoding: 'int4', use: 'hybrid' },
};

/** Shapes of one layer's K and V cache inputs. */
export function kvCacheShapes(config: Pick<DecoderConfig, 'kvHeads' | 'headDim'>, kvCacheMaxLen: number, layout: KvLayout): { k: number[]; v: number[] } {
  const { kvHeads: g, headDim: h } = config;
  return layout === 'btnh'
    ? { k: [1, kvCacheMaxLen, g, h], v: [1, kvCacheMaxLen, g, h] }
    : { k: [1, g, kvCacheMaxLen, h], v: [1, g, h, kvCacheMaxLen] };
}

interface LayerWeights {
  inputNorm: RegisteredWeight;
  postNorm: RegisteredWeight;
  q: RegisteredWeight;
  k: RegisteredWeight;
  v: RegisteredWeight;
  o: RegisteredWeight;
  qBias: RegisteredWeight | null;
  kBias: RegisteredWeight | null;
  vBias: RegisteredWeight | null;
  oBias: RegisteredWeight | null;
  qNorm: RegisteredWeight | null;
  kNorm: RegisteredWeight | null;
  gate: RegisteredWeight;
  up: RegisteredWeight;
  down: RegisteredWeight;
  mlpBiases: [RegisteredWeight | null, RegisteredWeight | null, RegisteredWeight | null];
}

/** Registers every weight in file order of use (embedding, layers, final norm, lm_head). */
function registerWeights(config: DecoderConfig, weights: WeightTable, encoding: WeightEncoding) {
  const { hiddenSize: d, heads: n, kvHeads: g, headDim: h, intermediateSize: f, vocabSize: vocab } = config;
  const float = (name: string, shape: number[]) => weights.weight(name, 'float32', shape);
  const embed = weights.weight(tensorNames.embed, encoding, [vocab, d]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.layers; i++) {
    const t = tensorNames.layer(i);
    const bias = (prefix: string, size: number, present: boolean) => (present ? float(`${prefix}.bias`, [size]) : null);
    layers.push({
      inputNorm: float(t.inputNorm, [d]),
      q: weights.weight(`${t.q}.weight`, encoding, [n * h, d]),
      qBias: bias(t.q, n * h, config.attentionBias),
      k: weights.weight(`${t.k}.weight`, encoding, [g * h, d]),
      kBias: bias(t.k, g * h, config.attentionBias),
      v: weights.weight(`${t.v}.weight`, encoding, [g * h, d]),
      vBias: bias(t.v, g * h, config.attentionBias),
      qNorm: config.family.qkNorm ? float(t.qNorm, [h]) : null,
      kNorm: config.family.qkNorm ? float(t.kNorm, [h]) : null,
      o: weights.weight(`${t.o}.weight`, encoding, [d, n * h]),
      oBias: bias(t.o, d, config.attentionBias && config.family.outputBiasFollowsAttentionBias),
      postNorm: float(t.postNorm, [d]),
      gate: weights.weight(`${t.gate}.weight`, encoding, [f, d]),
      up: weights.weight(`${t.up}.weight`, encoding, [f, d]),
      down: weights.weight(`${t.down}.weight`, encoding, [d, f]),
      mlpBiases: [bias(t.gate, f, config.mlpBias), bias(t.up, f, config.mlpBias), bias(t.down, d, config.mlpBias)],
    });
  }
  const finalNorm = float(tensorNames.finalNorm, [d]);
  const lmHead = config.tieWordEmbeddings ? embed : weights.weight(tensorNames.lmHead, encoding, [vocab, d]);
  return { embed, layers, finalNorm, lmHead };
}

export function buildDecoderGraph(graph: ModelGraph, config: DecoderConfig, weights: WeightTable, options: DecoderGraphOptions): string[] {
  const scheme = SCHEME[options.quantize];
  const w = registerWeights(config, weights, scheme.encoding);
  const tables = ropeTables(config, options.kvCacheMaxLen);
  const lengths = [...new Set(options.prefillSeqLens)].sort((a, b) => a - b);
  const names: string[] = [];
  for (const t of lengths) {
    names.push(`prefill_${t}`);
    buildSignature(graph.subgraph(`prefill_${t}`), config, options, scheme.use, w, tables, t, false);
  }
  names.push('decode');
  buildSignature(graph.subgraph('decode'), config, options, scheme.use, w, tables, 1, true);
  return names;
}

function buildSignature(
  g: SubgraphBuilder,
  config: DecoderConfig,
  options: DecoderGraphOptions,
  use: WeightUse,
  w: ReturnType<typeof registerWeights>,
  tables: { cos: Float32Array; sin: Float32Array },
  t: number,
  withLogits: boolean,
): void {
  const L = new Layers(g, use);
  const { hiddenSize: d, heads: n, kvHeads: kvh, headDim: h } = config;
  const s = options.kvCacheMaxLen;
  const rep = n / kvh;
  const transposed = options.kvLayout === 'transposed';

  const tokens = g.input('tokens', 'int32', [1, t]);
  const inputPos = g.input('input_pos', 'int32', [t]);
  const mask = g.input('mask', 'float32', [1, 1, t, s]);
  const cacheShapes = kvCacheShapes(config, s, options.kvLayout);
  const caches = Array.from({ length: config.layers }, (_, i) => ({
    k: g.input(`kv_cache_k_${i}`, 'float32', cacheShapes.k),
    v: g.input(`kv_cache_v_${i}`, 'float32', cacheShapes.v),
  }));

  // Embedding: an int8 or int4 table is looked up row by row (dequantizing only those rows).
  const ids = L.reshape(tokens, [t], 'token_ids');
  let x =
    w.embed.type === 'int8' || w.embed.type === 'int4'
      ? g.op({ kind: 'EMBEDDING_LOOKUP' }, [ids, L.weightTensor(w.embed)], { name: 'embedding', shape: [t, d] })
      : g.op({ kind: 'GATHER', axis: 0 }, [L.floatWeight(w.embed), ids], { name: 'embedding', shape: [t, d] });

  // RoPE rows for these positions, and the KV write offset input_pos[0].
  const cosTable = g.float32(tables.cos, [s, h], `rope_cos_${s}x${h}`);
  const sinTable = g.float32(tables.sin, [s, h], `rope_sin_${s}x${h}`);
  const cos = L.reshape(g.op({ kind: 'GATHER', axis: 0 }, [cosTable, inputPos], { name: 'rope_cos', shape: [t, h] }), [t, 1, h], 'rope_cos_b');
  const sin = L.reshape(g.op({ kind: 'GATHER', axis: 0 }, [sinTable, inputPos], { name: 'rope_sin', shape: [t, h] }), [t, 1, h], 'rope_sin_b');
  const pos0 = g.op({ kind: 'SLICE' }, [inputPos, g.int32([0]), g.int32([1])], { name: 'write_pos', type: 'int32', shape: [1] });
  const start = (before: number, after: number) =>
    g.op({ kind: 'CONCATENATION', axis: 0 }, [g.int32(new Array(before).fill(0)), pos0, ...(after > 0 ? [g.int32(new Array(after).fill(0))] : [])], {
      name: L.name('kv_write_start'),
      type: 'int32',
      shape: [4],
    });
  const startK = transposed ? start(2, 1) : start(1, 2);
  const startV = transposed ? start(3, 0) : startK;
  const scale = g.float32([1 / Math.sqrt(h)], [1], `attn_scale_${h}`);

  for (let i = 0; i < config.layers; i++) {
    const lw = w.layers[i]!;
    const last = i === config.layers - 1;
    const hn = L.rmsNorm(x, lw.inputNorm, config.rmsNormEps, `l${i}_input_norm`);
    let k = L.reshape(L.linear(hn, lw.k, lw.kBias, `l${i}_k`), [t, kvh, h], `l${i}_k_heads`);
    const v = L.reshape(L.linear(hn, lw.v, lw.vBias, `l${i}_v`), [t, kvh, h], `l${i}_v_heads`);
    if (lw.kNorm) k = L.rmsNorm(k, lw.kNorm, config.rmsNormEps, `l${i}_k_norm`);
    k = L.rope(k, cos, sin, `l${i}_k_rope`);

    // KV write: one contiguous DYNAMIC_UPDATE_SLICE per cache at input_pos[0].
    const kNew = transposed ? L.reshape(L.transpose(k, [1, 0, 2]), [1, kvh, t, h]) : L.reshape(k, [1, t, kvh, h]);
    const vNew = transposed ? L.reshape(L.transpose(v, [1, 2, 0]), [1, kvh, h, t]) : L.reshape(v, [1, t, kvh, h]);
    const kCache = g.op({ kind: 'DYNAMIC_UPDATE_SLICE' }, [caches[i]!.k, kNew, startK], { name: `kv_cache_k_${i}_updated`, shape: cacheShapes.k });
    const vCache = g.op({ kind: 'DYNAMIC_UPDATE_SLICE' }, [caches[i]!.v, vNew, startV], { name: `kv_cache_v_${i}_updated`, shape: cacheShapes.v });
    g.output(`kv_cache_k_${i}`, kCache);
    g.output(`kv_cache_v_${i}`, vCache);
    if (last && !withLogits) break;

    let q = L.reshape(L.linear(hn, lw.q, lw.qBias, `l${i}_q`), [t, n, h], `l${i}_q_heads`);
    if (lw.qNorm) q = L.rmsNorm(q, lw.qNorm, config.rmsNormEps, `l${i}_q_norm`);
    q = L.rope(q, cos, sin, `l${i}_q_rope`);
    // Grouped queries: kv head j serves query heads j·rep … j·rep+rep-1.
    const qGrouped = L.binary('MUL', L.reshape(L.transpose(q, [1, 0, 2]), [kvh, rep * t, h]), scale, `l${i}_q_scaled`);
    const keys = transposed ? L.reshape(kCache, [kvh, s, h]) : L.transpose(L.reshape(kCache, [s, kvh, h]), [1, 0, 2], `l${i}_keys`);
    const values = transposed ? L.reshape(vCache, [kvh, h, s]) : L.transpose(L.reshape(vCache, [s, kvh, h]), [1, 0, 2], `l${i}_values`);
    const scores = g.op({ kind: 'BATCH_MATMUL', adjX: false, adjY: true, asymmetricQuantizeInputs: false }, [qGrouped, keys], {
      name: L.name(`l${i}_scores`),
      shape: [kvh, rep * t, s],
    });
    const masked = L.binary('ADD', L.reshape(scores, [kvh, rep, t, s]), mask, `l${i}_masked`);
    const probs = g.op({ kind: 'SOFTMAX', beta: 1 }, [masked], { name: L.name(`l${i}_probs`), shape: [kvh, rep, t, s] });
    const context = g.op({ kind: 'BATCH_MATMUL', adjX: false, adjY: transposed, asymmetricQuantizeInputs: false }, [L.reshape(probs, [kvh, rep * t, s]), values], {
      name: L.name(`l${i}_context`),
      shape: [kvh, rep * t, h],
    });
    const merged = L.reshape(L.transpose(L.reshape(context, [n, t, h]), [1, 0, 2]), [t, n * h], `l${i}_context_merged`);
    x = L.binary('ADD', x, L.linear(merged, lw.o, lw.oBias, `l${i}_o`), `l${i}_attn_residual`);
    const hm = L.rmsNorm(x, lw.postNorm, config.rmsNormEps, `l${i}_post_norm`);
    x = L.binary('ADD', x, L.mlp(hm, lw.gate, lw.up, lw.down, lw.mlpBiases, `l${i}_mlp`), `l${i}_mlp_residual`);
  }

  if (withLogits) {
    const normed = L.rmsNorm(x, w.finalNorm, config.rmsNormEps, 'final_norm');
    const logits = L.linear(normed, w.lmHead, null, 'lm_head');
    g.output('logits', L.reshape(logits, [1, t, config.vocabSize], 'logits'));
  }
  // Outputs in a stable order: logits first (decode), then the caches by layer.
  g.outputs.sort((a, b) => (a.name === 'logits' ? -1 : b.name === 'logits' ? 1 : 0));
}
